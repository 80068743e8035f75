"""The official anthropic SDK against llm-gateway's Messages API: one message, then the same
streamed (the SDK's `messages.stream`, its text as it arrives, the final message it built),
then what the prompt costs (`count_tokens`).

The base URL is the server's root (the SDK adds `/v1/messages`); this SDK sends the key as
`Authorization: Bearer` (others send `x-api-key`): the gateway takes either.

    ANTHROPIC_BASE_URL=http://localhost:8001 python examples/python/anthropic_chat.py "Hi."
"""

from __future__ import annotations

import os
import sys

from anthropic import Anthropic
from anthropic.types import MessageParam

MODEL = os.environ.get("ANTHROPIC_MODEL", "gpt-3.5-turbo")


def gateway_client() -> Anthropic:
    """Base URL and key from the environment (the SDK's own variable names, with the
    gateway's address rather than Anthropic's as the default)."""
    return Anthropic(
        base_url=os.environ.get("ANTHROPIC_BASE_URL", "http://localhost:8001"),
        api_key=os.environ.get("ANTHROPIC_API_KEY", "unused"),
    )


def main() -> None:
    client = gateway_client()
    prompt = sys.argv[1] if len(sys.argv) > 1 else "Say hello in one sentence."
    messages: list[MessageParam] = [{"role": "user", "content": prompt}]

    message = client.messages.create(model=MODEL, max_tokens=200, messages=messages)
    text = "".join(block.text for block in message.content if block.type == "text")
    print(f"{message.model}: {text}\n")

    with client.messages.stream(model=MODEL, max_tokens=200, messages=messages) as stream:
        for piece in stream.text_stream:
            print(piece, end="", flush=True)
        final = stream.get_final_message()
    usage = final.usage
    tokens = f"{usage.input_tokens} input + {usage.output_tokens} output tokens"
    print(f"\n({tokens}, {final.stop_reason})")

    count = client.messages.count_tokens(model=MODEL, messages=messages)
    print(f"count_tokens: {count.input_tokens}")


if __name__ == "__main__":
    main()
