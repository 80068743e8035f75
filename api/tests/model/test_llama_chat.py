"""The real default model (SmolLM2-135M) through gunicorn, driven by the openai SDK."""

from __future__ import annotations

import re

import httpx
import openai
import pytest

from ..support.scrape import scrape, total
from ..support.server import ServerProcess
from ..support.spec import SpecValidator

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]


def test_a_normal_answer_is_english_text(llm: openai.OpenAI, spec: SpecValidator) -> None:
    completion = llm.chat.completions.create(
        model="smollm2", messages=QUESTION, max_tokens=40, temperature=0
    )
    spec.validate("CreateChatCompletionResponse", completion.model_dump(exclude_unset=True))
    text = completion.choices[0].message.content or ""
    words = re.findall(r"[A-Za-z]+", text)
    assert len(words) >= 3, text
    assert sum(len(w) for w in words) / max(1, len(text.replace(" ", ""))) > 0.6, text
    usage = completion.usage
    assert usage is not None and usage.prompt_tokens > 5
    assert usage.completion_tokens == 40 or completion.choices[0].finish_reason == "stop"


def test_same_seed_same_text_streamed_or_not(llm: openai.OpenAI, spec: SpecValidator) -> None:
    kwargs = {"model": "smollm2", "messages": QUESTION, "max_tokens": 30, "seed": 42}
    first = llm.chat.completions.create(**kwargs)  # type: ignore[call-overload]
    again = llm.chat.completions.create(**kwargs)  # type: ignore[call-overload]
    assert first.choices[0].message.content == again.choices[0].message.content
    streamed = ""
    for chunk in llm.chat.completions.create(**kwargs, stream=True):  # type: ignore[call-overload]
        spec.validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        streamed += "".join(c.delta.content or "" for c in chunk.choices)
    assert streamed == first.choices[0].message.content


def test_stop_and_length_finish_reasons(llm: openai.OpenAI) -> None:
    base = llm.chat.completions.create(
        model="smollm2", messages=QUESTION, max_tokens=30, temperature=0
    )
    text = base.choices[0].message.content or ""
    stop = text.split()[2]
    stopped = llm.chat.completions.create(
        model="smollm2", messages=QUESTION, max_tokens=30, temperature=0, stop=[stop]
    )
    assert stopped.choices[0].finish_reason == "stop"
    assert stop not in (stopped.choices[0].message.content or "")
    short = llm.chat.completions.create(
        model="smollm2", messages=QUESTION, max_tokens=3, temperature=0
    )
    assert short.choices[0].finish_reason == "length"
    assert short.usage is not None and short.usage.completion_tokens == 3


def test_n_choices_and_logprobs(llm: openai.OpenAI, spec: SpecValidator) -> None:
    completion = llm.chat.completions.create(
        model="smollm2", messages=QUESTION, max_tokens=5, n=2, logprobs=True, top_logprobs=3
    )
    spec.validate("CreateChatCompletionResponse", completion.model_dump(exclude_unset=True))
    assert [c.index for c in completion.choices] == [0, 1]
    for choice in completion.choices:
        assert choice.logprobs is not None and choice.logprobs.content
        entries = choice.logprobs.content
        assert "".join(e.token for e in entries) == choice.message.content
        assert all(e.logprob <= 0 and len(e.top_logprobs) == 3 for e in entries)


def test_text_completion(llm: openai.OpenAI, spec: SpecValidator) -> None:
    completion = llm.completions.create(
        model="smollm2", prompt="Once upon a time", max_tokens=8, temperature=0
    )
    spec.validate("CreateCompletionResponse", completion.model_dump(exclude_unset=True))
    assert completion.choices[0].text.strip()
    assert completion.usage is not None and completion.usage.completion_tokens == 8


def test_context_overflow_is_400_before_generation(llm: openai.OpenAI) -> None:
    long_prompt = [{"role": "user", "content": "hello " * 3000}]
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as info:
            llm.chat.completions.create(model="smollm2", messages=long_prompt, stream=stream)
        assert info.value.code == "context_length_exceeded"
    with pytest.raises(openai.BadRequestError) as too_many:
        llm.chat.completions.create(model="smollm2", messages=QUESTION, max_tokens=5000)
    assert too_many.value.code == "context_length_exceeded"


def test_prompt_tokens_from_the_cache_are_reported_in_every_shape(
    llm: openai.OpenAI, llama_server: ServerProcess
) -> None:
    """A conversation's second turn starts with its first turn's tokens, which the server
    still holds: usage says how many it did not evaluate (chat's
    `prompt_tokens_details.cached_tokens`, Responses' `input_tokens_details.cached_tokens`,
    Anthropic's `cache_read_input_tokens` beside the `input_tokens` it did evaluate), and the
    counter in /metrics grows by as much."""
    system = "You are a careful assistant for a library. " * 12
    first = [{"role": "system", "content": system}, {"role": "user", "content": "Hi there!"}]
    answer = llm.chat.completions.create(
        model="smollm2",
        messages=first,
        max_tokens=12,
        temperature=0,  # type: ignore[arg-type]
    )
    second = [
        *first,
        {"role": "assistant", "content": answer.choices[0].message.content or ""},
        {"role": "user", "content": "Which books do you have?"},
    ]
    before = total(scrape(llama_server.base_url), "llm_gateway_prompt_tokens_cached_total")
    again = llm.chat.completions.create(
        model="smollm2",
        messages=second,
        max_tokens=4,
        temperature=0,  # type: ignore[arg-type]
    )
    assert again.usage is not None and again.usage.prompt_tokens_details is not None
    cached = again.usage.prompt_tokens_details.cached_tokens or 0
    assert answer.usage is not None and answer.usage.prompt_tokens <= cached
    assert cached < again.usage.prompt_tokens
    after = total(scrape(llama_server.base_url), "llm_gateway_prompt_tokens_cached_total")
    assert after - before == cached

    response = llm.responses.create(
        model="smollm2", instructions=system, input="Which books do you have?", max_output_tokens=16
    )
    assert response.usage is not None and response.usage.input_tokens_details.cached_tokens > 0

    message = httpx.post(
        llama_server.base_url + "/v1/messages",
        json={
            "model": "smollm2",
            "system": system,
            "messages": [{"role": "user", "content": "Which books do you have?"}],
            "max_tokens": 4,
        },
        timeout=120,
    ).json()
    usage = message["usage"]
    assert usage["cache_read_input_tokens"] > 0 and usage["input_tokens"] > 0
    assert usage["cache_read_input_tokens"] + usage["input_tokens"] == response.usage.input_tokens
