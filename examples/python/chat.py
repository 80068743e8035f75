"""The official openai SDK against llm-gateway: one chat completion, then a streamed one.

OPENAI_BASE_URL=http://localhost:8001/v1 python examples/python/chat.py "Tell me a joke."
OPENAI_BASE_URL=https://localhost/v1 SSL_CERT_FILE=root.crt python examples/python/chat.py
"""

from __future__ import annotations

import os
import sys

from openai import OpenAI
from openai.types.chat import ChatCompletionMessageParam

MODEL = os.environ.get("OPENAI_MODEL", "gpt-3.5-turbo")


def gateway_client() -> OpenAI:
    """Base URL and key from the environment (the SDK's own variable names)."""
    return OpenAI(
        base_url=os.environ.get("OPENAI_BASE_URL", "http://localhost:8001/v1"),
        api_key=os.environ.get("OPENAI_API_KEY", "unused"),
    )


def main() -> None:
    client = gateway_client()
    prompt = sys.argv[1] if len(sys.argv) > 1 else "Say hello in one sentence."
    messages: list[ChatCompletionMessageParam] = [{"role": "user", "content": prompt}]

    completion = client.chat.completions.create(model=MODEL, messages=messages)
    print(f"{completion.model}: {completion.choices[0].message.content}\n")

    stream = client.chat.completions.create(
        model=MODEL,
        messages=messages,
        stream=True,
        stream_options={"include_usage": True},
    )
    for chunk in stream:
        if chunk.choices:
            print(chunk.choices[0].delta.content or "", end="", flush=True)
        if chunk.usage:
            usage = chunk.usage
            print(f"\n({usage.prompt_tokens} prompt + {usage.completion_tokens} completion tokens)")


if __name__ == "__main__":
    main()
