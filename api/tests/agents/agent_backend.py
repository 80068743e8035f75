"""A scripted model for the coding-agent tests: it calls the agent's file-reading tool once,
then says what the tool returned, so a test sees the CLI run the tool and send its result.

Loaded by path (`MODEL_BACKEND=tests.agents.agent_backend:ToolThenText`) like a user's class.
The script, per request:
- a tool result in the conversation (a `tool` message): answer `TOOL_SAID` + that result;
- else the last user message says "call the tool NAME with {JSON}" and NAME is offered:
  call it with those arguments;
- else an absolute path to a `.txt` file in the last user message, and a tool the script
  knows among those offered: call it to read the file (Claude Code's `Read`, Codex's
  `exec_command` with `cat`);
- else answer `GREETING`.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from typing import Any

from llm_gateway.backends import Delta, GenerationRequest, Message, ToolCallDelta
from llm_gateway.backends.mock import MockBackend

GREETING = "hi from the gateway"
TOOL_SAID = "the tool said:"
CALL_ID = "call_agent_read"
_PATH = re.compile(r"(/[\w./-]+\.txt)\b")
_NAMED_CALL = re.compile(r"call the tool (\S+) with (\{.*\})", re.IGNORECASE | re.DOTALL)


def named_call(offered: set[str], text: str) -> tuple[str, dict[str, Any]] | None:
    """The call the user spelled out ("call the tool NAME with {JSON}"), if NAME is offered."""
    found = _NAMED_CALL.search(text)
    if found is None or found.group(1) not in offered:
        return None
    arguments: dict[str, Any] = json.loads(found.group(2))
    return found.group(1), arguments


def read_call(offered: set[str], path: str) -> tuple[str, dict[str, Any]] | None:
    """The call that reads `path` with a tool the agent offered, or None."""
    if "Read" in offered:  # Claude Code
        return "Read", {"file_path": path}
    if "exec_command" in offered:  # Codex (unified exec)
        return "exec_command", {"cmd": f"cat {path}"}
    if "shell" in offered:  # Codex's older shell tool
        return "shell", {"command": ["cat", path]}
    if "Bash" in offered:
        return "Bash", {"command": f"cat {path}", "description": "Read the file"}
    return None


def _last(messages: tuple[Message, ...], role: str) -> Message | None:
    return next((m for m in reversed(messages) if m.role == role), None)


class ToolThenText(MockBackend):
    """The script above; counts prompt tokens like the mock (set MOCK_N_CTX high: agents
    send tens of kilobytes of instructions and ask for up to 32,000 output tokens)."""

    name = "tool-then-text"
    supported_params = frozenset({"tools", "tool_choice", "parallel_tool_calls", "temperature"})

    async def stream(self, request: GenerationRequest) -> AsyncIterator[Delta]:
        messages = request.messages or ()
        prompt_tokens = self.count_prompt_tokens(request)
        result = _last(messages, "tool")
        user = _last(messages, "user")
        offered = {t.name for t in request.tools} if request.tool_choice != "none" else set()
        said = user.content if user is not None else ""
        call = None
        if result is None:
            call = named_call(offered, said)
            if call is None and (found := _PATH.search(said)) is not None:
                call = read_call(offered, found.group(1))
        if call is not None:
            name, arguments = call
            yield Delta(tool_calls=[ToolCallDelta(0, id=CALL_ID, name=name)])
            yield Delta(tool_calls=[ToolCallDelta(0, arguments=json.dumps(arguments))])
            yield Delta(
                finish_reason="tool_calls", prompt_tokens=prompt_tokens, completion_tokens=8
            )
            return
        text = GREETING if result is None else f"{TOOL_SAID} {result.content.strip()}"
        words = text.split(" ")
        for index, word in enumerate(words):
            yield Delta(text=word if index == 0 else " " + word, completion_tokens=index + 1)
        yield Delta(finish_reason="stop", prompt_tokens=prompt_tokens, completion_tokens=len(words))
