"""The official openai SDK, sync and async, streaming and not, against real gunicorn."""

from __future__ import annotations

import socket

import httpx
import openai
import pytest

from ..support.server import ServerProcess
from ..support.spec import SpecValidator

MESSAGES = [{"role": "user", "content": "Say something."}]


@pytest.fixture
def sdk(mock_server: ServerProcess) -> openai.OpenAI:
    return openai.OpenAI(base_url=mock_server.base_url + "/v1", api_key="unused", max_retries=0)


@pytest.fixture
def async_sdk(mock_server: ServerProcess) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(
        base_url=mock_server.base_url + "/v1", api_key="unused", max_retries=0
    )


def test_sync_chat(sdk: openai.OpenAI, spec: SpecValidator) -> None:
    completion = sdk.chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES, seed=1)
    spec.validate("CreateChatCompletionResponse", completion.model_dump(exclude_unset=True))
    assert completion.choices[0].message.content
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens > 0


def test_sync_stream_equals_non_stream(sdk: openai.OpenAI, spec: SpecValidator) -> None:
    folded = sdk.chat.completions.create(model="gpt-3.5-turbo", messages=MESSAGES, seed=5)
    stream = sdk.chat.completions.create(
        model="gpt-3.5-turbo",
        messages=MESSAGES,
        seed=5,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, usage = "", None
    for chunk in stream:
        spec.validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        for choice in chunk.choices:
            text += choice.delta.content or ""
        usage = chunk.usage or usage
    assert text == folded.choices[0].message.content
    assert usage is not None and usage.model_dump() == folded.usage.model_dump()  # type: ignore[union-attr]


async def test_async_chat_and_stream(async_sdk: openai.AsyncOpenAI) -> None:
    completion = await async_sdk.chat.completions.create(
        model="mock-model", messages=MESSAGES, n=3, max_tokens=4
    )
    assert [c.index for c in completion.choices] == [0, 1, 2]
    assert all(c.finish_reason == "length" for c in completion.choices)
    stream = await async_sdk.chat.completions.create(
        model="mock-model", messages=MESSAGES, n=3, max_tokens=4, stream=True
    )
    finished = {}
    async for chunk in stream:
        for choice in chunk.choices:
            if choice.finish_reason:
                finished[choice.index] = choice.finish_reason
    assert finished == {0: "length", 1: "length", 2: "length"}


def test_completions_and_models(sdk: openai.OpenAI, spec: SpecValidator) -> None:
    completion = sdk.completions.create(model="mock-model", prompt="Once", max_tokens=5)
    spec.validate("CreateCompletionResponse", completion.model_dump(exclude_unset=True))
    assert completion.choices[0].finish_reason == "length"
    ids = [m.id for m in sdk.models.list()]
    assert ids == ["mock-model", "gpt-3.5-turbo"]
    assert sdk.models.retrieve("gpt-3.5-turbo").id == "gpt-3.5-turbo"


def test_sdk_raises_typed_errors(sdk: openai.OpenAI) -> None:
    with pytest.raises(openai.NotFoundError) as not_found:
        sdk.chat.completions.create(model="nope", messages=MESSAGES)
    assert not_found.value.code == "model_not_found"
    with pytest.raises(openai.BadRequestError) as bad:
        sdk.chat.completions.create(model="mock-model", messages=MESSAGES, temperature=9)
    assert bad.value.param == "temperature"


@pytest.mark.parametrize("host", ["127.0.0.1", "::1"])
def test_listens_on_ipv4_and_ipv6_loopback(mock_server: ServerProcess, host: str) -> None:
    if host == "::1":
        try:
            socket.socket(socket.AF_INET6).close()
        except OSError:
            pytest.skip("this machine has no IPv6")
    url = f"http://{'[::1]' if ':' in host else host}:{mock_server.port}/health"
    assert httpx.get(url, timeout=5).json() == {"status": "ok"}
