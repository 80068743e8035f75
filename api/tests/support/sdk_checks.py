"""What every backend must pass through the official `openai` SDK, against a real server: the
SDK parses each answer, and every body and chunk is validated against the OpenAI spec.

Each check returns what it saw, so a caller can also compare two servers' answers."""

from __future__ import annotations

from typing import Any

import openai

from .spec import SpecValidator


def sdk(base_url: str, timeout: float = 60) -> openai.OpenAI:
    return openai.OpenAI(
        base_url=base_url + "/v1", api_key="unused", max_retries=0, timeout=timeout
    )


def chat(client: openai.OpenAI, spec: SpecValidator, **request: Any) -> dict[str, Any]:
    """A non-streaming chat completion, spec-checked; its body as a dict."""
    completion = client.chat.completions.create(**request)
    body = completion.model_dump(exclude_unset=True)
    spec.validate("CreateChatCompletionResponse", body)
    assert completion.object == "chat.completion"
    assert completion.id.startswith("chatcmpl-")
    assert [c.index for c in completion.choices] == list(range(request.get("n") or 1))
    usage = completion.usage
    assert usage is not None and usage.total_tokens == usage.prompt_tokens + usage.completion_tokens
    return body


def chat_stream(client: openai.OpenAI, spec: SpecValidator, **request: Any) -> dict[str, Any]:
    """A streamed chat completion with usage, every chunk spec-checked, folded into the shape
    of a non-streaming body (choices' text, tool calls, finish reasons, logprobs; usage)."""
    stream = client.chat.completions.create(
        **request, stream=True, stream_options={"include_usage": True}
    )
    choices: dict[int, dict[str, Any]] = {}
    usage = None
    ids = set()
    for chunk in stream:
        spec.validate("CreateChatCompletionStreamResponse", chunk.model_dump(exclude_unset=True))
        ids.add(chunk.id)
        if chunk.usage is not None:
            assert not chunk.choices
            usage = chunk.usage.model_dump(exclude_unset=True)
        for c in chunk.choices:
            folded = choices.setdefault(
                c.index, {"content": "", "tool_calls": {}, "finish_reason": None, "logprobs": []}
            )
            assert folded["finish_reason"] is None, "a chunk after the choice finished"
            folded["content"] += c.delta.content or ""
            for call in c.delta.tool_calls or ():
                entry = folded["tool_calls"].setdefault(call.index, {"name": "", "arguments": ""})
                if call.function is not None:
                    entry["name"] += call.function.name or ""
                    entry["arguments"] += call.function.arguments or ""
            if c.logprobs is not None and c.logprobs.content:
                folded["logprobs"] += [lp.model_dump() for lp in c.logprobs.content]
            folded["finish_reason"] = c.finish_reason
    assert len(ids) == 1
    assert usage is not None
    assert sorted(choices) == list(range(request.get("n") or 1))
    assert all(c["finish_reason"] for c in choices.values())
    return {"choices": [choices[i] for i in sorted(choices)], "usage": usage}


def completion(client: openai.OpenAI, spec: SpecValidator, **request: Any) -> dict[str, Any]:
    result = client.completions.create(**request)
    body = result.model_dump(exclude_unset=True)
    spec.validate("CreateCompletionResponse", body)
    assert result.object == "text_completion"
    return body


def completion_stream(client: openai.OpenAI, spec: SpecValidator, **request: Any) -> dict[str, Any]:
    stream = client.completions.create(
        **request, stream=True, stream_options={"include_usage": True}
    )
    texts: dict[int, str] = {}
    finish: dict[int, str] = {}
    usage = None
    for chunk in stream:
        spec.validate("CreateCompletionResponse", chunk.model_dump(exclude_unset=True))
        if chunk.usage is not None:
            usage = chunk.usage.model_dump(exclude_unset=True)
        for c in chunk.choices:
            texts[c.index] = texts.get(c.index, "") + c.text
            if c.finish_reason:
                finish[c.index] = c.finish_reason
    assert usage is not None and sorted(finish) == sorted(texts)
    return {"texts": [texts[i] for i in sorted(texts)], "finish": finish, "usage": usage}


def counted(usage: dict[str, Any]) -> dict[str, Any]:
    """Usage without `prompt_tokens_details`: how many prompt tokens a server found in its
    cache depends on what ran before, not on the request."""
    return {k: v for k, v in usage.items() if k != "prompt_tokens_details"}


def text_of(body: dict[str, Any]) -> list[str]:
    return [c["message"]["content"] for c in body["choices"]]


def assert_every_shape(client: openai.OpenAI, spec: SpecValidator, model: str) -> None:
    """The checks every backend passes: chat (plain, n, stop, max_tokens), streaming that
    folds to the non-streaming answer, text completions streamed and not, typed errors."""
    messages = [{"role": "user", "content": "How does streaming work?"}]
    folded = chat(client, spec, model=model, messages=messages, seed=3, max_tokens=16)
    assert folded["choices"][0]["message"]["content"]
    assert folded["choices"][0]["finish_reason"] in {"stop", "length"}
    streamed = chat_stream(client, spec, model=model, messages=messages, seed=3, max_tokens=16)
    assert [c["content"] for c in streamed["choices"]] == text_of(folded)
    assert counted(streamed["usage"]) == counted(folded["usage"])
    short = chat(client, spec, model=model, messages=messages, seed=3, max_tokens=2, n=2)
    assert [c["finish_reason"] for c in short["choices"]] == ["length", "length"]
    assert short["usage"]["completion_tokens"] == 4
    whole = completion(client, spec, model=model, prompt="Streaming", max_tokens=5, seed=3)
    assert whole["choices"][0]["finish_reason"] in {"stop", "length"}
    pieces = completion_stream(client, spec, model=model, prompt="Streaming", max_tokens=5, seed=3)
    assert pieces["texts"] == [whole["choices"][0]["text"]]
    try:
        client.chat.completions.create(model="no-such-model", messages=messages)
        raise AssertionError("an unknown model was answered")
    except openai.NotFoundError as exc:
        assert exc.code == "model_not_found"
