"""A backend that answers with what it was given, so tests see exactly what reached the model.

Loaded by path (`MODEL_BACKEND=tests.support.scripted_backend:Transcript`) like a user's class.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from llm_gateway.backends import Delta, GenerationRequest, ToolCallDelta
from llm_gateway.backends.mock import MockBackend


def transcript(request: GenerationRequest) -> str:
    """`role: content` per message; tool calls and results spelled out."""
    lines = []
    for m in request.messages or ():
        line = f"{m.role}: {m.content}"
        for call in m.tool_calls:
            line += f" [call {call['function']['name']}({call['function']['arguments']})]"
        if m.tool_call_id:
            line += f" [for {m.tool_call_id}]"
        lines.append(line)
    return "\n".join(lines) if request.messages is not None else request.prompt or ""


class Transcript(MockBackend):
    """Streams the transcript word by word (so `max_tokens` can cut it); with a named
    `tool_choice`, calls that tool with the last user message as `{"text": ...}`. Embeds
    like the mock."""

    name = "transcript"
    supported_params = frozenset(
        {"temperature", "top_p", "seed", "tools", "tool_choice", "response_format"}
    )

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        messages = request.messages or ()
        prompt_tokens = sum(len(m.content.split()) + 1 for m in messages)
        if request.tools and request.tool_choice not in {"auto", "none", "required"}:
            users = [m.content for m in messages if m.role == "user"]
            arguments = json.dumps({"text": users[-1] if users else ""})
            yield Delta(tool_calls=[ToolCallDelta(0, id="call_scripted", name=request.tool_choice)])
            for start in range(0, len(arguments), 4):
                yield Delta(tool_calls=[ToolCallDelta(0, arguments=arguments[start : start + 4])])
            yield Delta(
                finish_reason="tool_calls", prompt_tokens=prompt_tokens, completion_tokens=3
            )
            return
        words = transcript(request).split(" ")
        limit = request.max_tokens or len(words)
        for index, word in enumerate(words[:limit]):
            yield Delta(text=word if index == 0 else " " + word, completion_tokens=index + 1)
        yield Delta(
            finish_reason="length" if limit < len(words) else "stop",
            prompt_tokens=prompt_tokens,
            completion_tokens=min(limit, len(words)),
        )
