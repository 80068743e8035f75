"""What shape the output must take: free text, JSON, or a tool call; and the grammar that
guarantees it."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

from ...compat.llama_cpp import JSON_GBNF, json_schema_to_gbnf
from ...errors import InvalidRequest
from ..types import GenerationRequest, ToolSpec

Mode = Literal["text", "json", "tool_arguments", "tool_call", "auto_tools"]

ANY_OBJECT: dict[str, Any] = {"type": "object"}


@dataclass(frozen=True, slots=True)
class OutputPlan:
    mode: Mode
    grammar: str | None = None
    """GBNF that the output must match."""
    instructions: str | None = None
    tool_name: str | None = None  # the forced function, for tool_arguments
    tool_names: frozenset[str] = frozenset()


@lru_cache(maxsize=64)
def _schema_grammar(schema_json: str) -> str:
    gbnf: str = json_schema_to_gbnf(schema_json)
    return gbnf


def schema_grammar(schema: dict[str, Any], param: str) -> str:
    try:
        return _schema_grammar(json.dumps(schema))  # key order is output order
    except Exception as exc:
        raise InvalidRequest(
            f"This JSON schema cannot be turned into a generation grammar: {exc}", param=param
        ) from None


def _tool_listing(tools: tuple[ToolSpec, ...]) -> str:
    specs = [
        {"name": t.name, "description": t.description or "", "parameters": t.parameters or {}}
        for t in tools
    ]
    return json.dumps(specs, indent=1)


def _call_schema(tool: ToolSpec) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "name": {"const": tool.name},
            "arguments": tool.parameters or ANY_OBJECT,
        },
        "required": ["name", "arguments"],
    }


def plan(request: GenerationRequest) -> OutputPlan:
    tools = request.tools if request.tool_choice != "none" else ()
    if tools:
        names = frozenset(t.name for t in tools)
        listing = _tool_listing(tools)
        if request.tool_choice not in {"auto", "required"}:
            tool = next(t for t in tools if t.name == request.tool_choice)
            return OutputPlan(
                "tool_arguments",
                schema_grammar(tool.parameters or ANY_OBJECT, "tools"),
                f"You can call these functions:\n{listing}\n"
                f"Call the function '{tool.name}' now: reply with only its arguments "
                "as a JSON object.",
                tool_name=tool.name,
                tool_names=names,
            )
        instructions = (
            f"You can call these functions:\n{listing}\n"
            'To call one, reply with only a JSON object {"name": <function name>, '
            '"arguments": <arguments object>}.'
        )
        if request.tool_choice == "required":
            schema = {"anyOf": [_call_schema(t) for t in tools]}
            return OutputPlan(
                "tool_call", schema_grammar(schema, "tools"), instructions, tool_names=names
            )
        return OutputPlan(
            "auto_tools",
            None,
            instructions + " Otherwise answer normally in text.",
            tool_names=names,
        )
    if request.response_format == "json_object":
        return OutputPlan("json", JSON_GBNF, "Reply with a JSON object.")
    if request.response_format == "json_schema":
        schema = request.json_schema or ANY_OBJECT
        return OutputPlan(
            "json",
            schema_grammar(schema, "response_format"),
            f"Reply with JSON that matches this schema:\n{json.dumps(schema)}",
        )
    return OutputPlan("text")


_CALL_HEAD = re.compile(r'^\s*\{\s*"name"\s*:\s*"((?:[^"\\]|\\.)*)"\s*,\s*"arguments"\s*:\s*')
_WRAPPER_TAIL = re.compile(r"\s*\}?\s*$")


class CallStreamer:
    """Turns the text of `{"name": ..., "arguments": {...}}` into tool-call deltas as it
    streams: the name once known, then argument fragments, minus the wrapper's braces."""

    def __init__(self) -> None:
        self.name: str | None = None
        self._pending = ""

    def feed(self, text: str) -> tuple[str | None, str]:
        """Returns (name if it just became known, argument text safe to emit)."""
        self._pending += text
        new_name = None
        if self.name is None:
            head = _CALL_HEAD.match(self._pending)
            if head is None:
                return None, ""
            self.name = new_name = json.loads(f'"{head.group(1)}"')
            self._pending = self._pending[head.end() :]
        tail = _WRAPPER_TAIL.search(self._pending)
        cut = tail.start() if tail else len(self._pending)
        out, self._pending = self._pending[:cut], self._pending[cut:]
        return new_name, out

    def finish(self) -> str:
        """Whatever argument text remains, with the wrapper's closing brace dropped."""
        rest, self._pending = self._pending, ""
        return re.sub(r"\}\s*$", "", rest.rstrip(), count=1) if self.name else rest


def parse_call(text: str, names: frozenset[str]) -> tuple[str, str] | None:
    """`(name, arguments JSON)` if the whole text is a call to a known function."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    if (
        isinstance(value, dict)
        and value.get("name") in names
        and isinstance(value.get("arguments"), dict)
    ):
        return str(value["name"]), json.dumps(value["arguments"])
    return None
