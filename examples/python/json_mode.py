"""JSON mode and structured output with the official openai SDK.

`json_object` makes the answer a JSON object; `json_schema` also makes it match a schema.
With the default embedded model a grammar constrains generation, so the output parses
(unless `max_tokens` cuts it off); the mock backend ignores `response_format`.

    OPENAI_BASE_URL=http://localhost:8001/v1 python examples/python/json_mode.py
"""

from __future__ import annotations

import json
from typing import Any

from openai.types.chat import ChatCompletion

from chat import MODEL, gateway_client

CITY_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "country": {"type": "string"},
        "population": {"type": "integer"},
    },
    "required": ["name", "country", "population"],
    "additionalProperties": False,
}


def parsed(completion: ChatCompletion) -> object:
    choice = completion.choices[0]
    if choice.finish_reason == "length":
        raise SystemExit("max_tokens cut the JSON off: raise it (or ask for a shorter object).")
    return json.loads(choice.message.content or "")


def main() -> None:
    client = gateway_client()

    answer = client.chat.completions.create(
        model=MODEL,
        messages=[
            {"role": "user", "content": "Give a JSON object with keys name and country for Paris."}
        ],
        response_format={"type": "json_object"},
        max_tokens=200,
        temperature=0,
    )
    print("json_object:", parsed(answer))

    answer = client.chat.completions.create(
        model=MODEL,
        messages=[{"role": "user", "content": "Tell me about Paris."}],
        response_format={
            "type": "json_schema",
            "json_schema": {"name": "city", "schema": CITY_SCHEMA, "strict": True},
        },
        max_tokens=200,
        temperature=0,
    )
    print("json_schema:", parsed(answer))


if __name__ == "__main__":
    main()
