"""The official SDKs read a stream that was kept alive before its first token (SSE comments
on the OpenAI routes, `ping` events on the Messages API) as if nothing had been sent."""

from __future__ import annotations

import anthropic
import openai
import pytest

from ..support.server import ServerProcess, server_fixture

pytestmark = pytest.mark.server

USER = [{"role": "user", "content": "Hi"}]


slow_start = server_fixture({"MOCK_TTFT_MS": "1000", "STREAM_KEEPALIVE_SECONDS": "0.2"})


def test_openai_chat_and_responses_streams(slow_start: ServerProcess) -> None:
    client = openai.OpenAI(base_url=slow_start.base_url + "/v1", api_key="x", max_retries=0)
    chunks = list(
        client.chat.completions.create(
            model="mock-model",
            messages=USER,
            stream=True,
            max_tokens=3,  # type: ignore[arg-type]
        )
    )
    assert chunks[-1].choices[0].finish_reason == "length"
    with client.responses.stream(model="mock-model", input="Hi", max_output_tokens=100) as stream:
        final = stream.get_final_response()
    assert final.status == "completed" and final.output_text


def test_anthropic_stream(slow_start: ServerProcess) -> None:
    client = anthropic.Anthropic(base_url=slow_start.base_url, api_key="x", max_retries=0)
    with client.messages.stream(model="mock-model", max_tokens=3, messages=USER) as stream:  # type: ignore[arg-type]
        final = stream.get_final_message()
    assert final.stop_reason == "max_tokens" and final.content[0].text  # type: ignore[union-attr]
