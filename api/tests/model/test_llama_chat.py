"""The real default model (SmolLM2-135M) through gunicorn, driven by the openai SDK."""

from __future__ import annotations

import re

import openai
import pytest

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
