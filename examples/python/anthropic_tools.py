"""A tool round trip with the official anthropic SDK: the model answers with a `tool_use`
block for `get_weather`, the script runs the tool and sends a `tool_result` back for the
final answer.

Needs a backend that does tools: the default embedded model does (a forced `tool_choice`
is grammar-constrained, so the input always matches the schema); the mock ignores tools.

    ANTHROPIC_BASE_URL=http://localhost:8001 python examples/python/anthropic_tools.py "Oslo?"
"""

from __future__ import annotations

import json
import sys
from typing import Any

from anthropic.types import (
    AssistantMessageParam,
    MessageParam,
    ToolParam,
    ToolResultBlockParam,
    UserMessageParam,
)

from anthropic_chat import MODEL, gateway_client

WEATHER_TOOL: ToolParam = {
    "name": "get_weather",
    "description": "The current weather in a city.",
    "input_schema": {
        "type": "object",
        "properties": {
            "city": {"type": "string"},
            "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
        },
        "required": ["city", "unit"],
        "additionalProperties": False,
    },
}


def get_weather(city: str, unit: str) -> dict[str, Any]:
    """Stands in for a real weather service."""
    return {"city": city, "temperature": 21 if unit == "celsius" else 70, "unit": unit}


def main() -> None:
    client = gateway_client()
    prompt = sys.argv[1] if len(sys.argv) > 1 else "What is the weather in Paris?"
    messages: list[MessageParam] = [{"role": "user", "content": prompt}]

    # Streamed: the SDK joins the `input_json_delta`s into the block's `input`.
    with client.messages.stream(
        model=MODEL,
        max_tokens=60,
        messages=messages,
        tools=[WEATHER_TOOL],
        # Force this tool (`{"type": "auto"}` lets the model answer in text instead).
        tool_choice={"type": "tool", "name": "get_weather"},
    ) as stream:
        first = stream.get_final_message()
    call = next(block for block in first.content if block.type == "tool_use")
    print(f"tool call: {call.name}({json.dumps(call.input)}) [{first.stop_reason}]")

    # Run the tool, then send the whole turn back (the `tool_use` block as the SDK returned
    # it) with the result, tied to the call by its id.
    reading = get_weather(city=str(call.input["city"]), unit=str(call.input["unit"]))
    result: ToolResultBlockParam = {
        "type": "tool_result",
        "tool_use_id": call.id,
        "content": json.dumps(reading),
    }
    answer_turn: AssistantMessageParam = {"role": "assistant", "content": first.content}
    result_turn: UserMessageParam = {"role": "user", "content": [result]}
    messages += [answer_turn, result_turn]
    final = client.messages.create(
        model=MODEL, max_tokens=60, messages=messages, tools=[WEATHER_TOOL]
    )
    text = "".join(block.text for block in final.content if block.type == "text")
    # A small model may ask for the tool again rather than answer.
    print(text or f"[{final.stop_reason}] {[block.to_dict() for block in final.content]}")


if __name__ == "__main__":
    main()
