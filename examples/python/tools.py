"""A tool call with the official openai SDK: the model asks for `get_weather`, the script
runs it and sends the result back for the final answer.

Needs a backend that does tools: the default embedded model does (a forced `tool_choice`
is grammar-constrained, so the arguments always match the schema); the mock ignores tools.

    OPENAI_BASE_URL=http://localhost:8001/v1 python examples/python/tools.py "Weather in Oslo?"
"""

from __future__ import annotations

import json
import sys
from typing import Any

from openai.types.chat import ChatCompletionToolParam

from chat import MODEL, gateway_client

WEATHER_TOOL: ChatCompletionToolParam = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "The current weather in a city.",
        "parameters": {
            "type": "object",
            "properties": {
                "city": {"type": "string"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
            },
            "required": ["city", "unit"],
            "additionalProperties": False,
        },
    },
}


def get_weather(city: str, unit: str) -> dict[str, Any]:
    """Stands in for a real weather service."""
    return {"city": city, "temperature": 21 if unit == "celsius" else 70, "unit": unit}


def main() -> None:
    client = gateway_client()
    prompt = sys.argv[1] if len(sys.argv) > 1 else "What is the weather in Paris?"
    messages: list[Any] = [{"role": "user", "content": prompt}]

    first = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        tools=[WEATHER_TOOL],
        # Force this tool (`"auto"` lets the model answer in text instead).
        tool_choice={"type": "function", "function": {"name": "get_weather"}},
        temperature=0,
        max_tokens=60,
    )
    message = first.choices[0].message
    call = (message.tool_calls or [])[0]
    if call.type != "function":
        raise SystemExit(f"unexpected tool call type {call.type}")
    arguments = json.loads(call.function.arguments)
    print(f"tool call: {call.function.name}({json.dumps(arguments)})")

    messages.append(message.model_dump(exclude_none=True))
    messages.append(
        {"role": "tool", "tool_call_id": call.id, "content": json.dumps(get_weather(**arguments))}
    )
    final = client.chat.completions.create(model=MODEL, messages=messages, max_tokens=60)
    print(final.choices[0].message.content)


if __name__ == "__main__":
    main()
