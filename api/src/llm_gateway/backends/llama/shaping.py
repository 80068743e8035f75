"""Generated tokens → `Delta`s, according to the output plan: free text (with stop
sequences), JSON, a forced tool call, or `tool_choice: auto` (held back until it is clear
whether the answer is a call or text)."""

from __future__ import annotations

import uuid

from ..stops import StopMatcher
from ..types import Delta, FinishReason, ToolCallDelta
from .constraints import CallStreamer, OutputPlan, parse_call
from .sequences import Token


class Shaper:
    """Tokens → deltas according to the output plan (text, JSON, or tool calls)."""

    def __init__(self, output: OutputPlan, stop: tuple[str, ...]) -> None:
        self.output = output
        self.mode = output.mode
        self.stops = StopMatcher(stop if self.mode in {"text", "json"} else ())
        self.call_id = f"call_{uuid.uuid4().hex[:24]}"
        self.calls = CallStreamer()
        self.buffer: list[str] = []
        self.produced = 0
        self.started_call = False
        self.decided_text = False

    def feed(self, token: Token) -> Delta | None:
        if token.counted:
            self.produced += 1
        text = token.text
        logprobs = [token.logprob] if token.logprob is not None else None
        if self.mode == "tool_arguments":
            calls = [ToolCallDelta(0, arguments=text)]
            if not self.started_call:
                self.started_call = True
                calls.insert(0, ToolCallDelta(0, id=self.call_id, name=self.output.tool_name))
            return Delta(tool_calls=calls, logprobs=logprobs)
        if self.mode == "tool_call":
            name, arguments = self.calls.feed(text)
            calls = []
            if name is not None:
                calls.append(ToolCallDelta(0, id=self.call_id, name=name))
            if arguments:
                calls.append(ToolCallDelta(0, arguments=arguments))
            return Delta(tool_calls=calls or None, logprobs=logprobs)
        if self.mode == "auto_tools" and not self.decided_text:
            self.buffer.append(text)
            joined = "".join(self.buffer)
            if not joined.strip():
                return None
            if joined.lstrip().startswith("{"):
                return None  # maybe a call: decide at the end
            self.decided_text = True
            self.buffer = []
            text = joined
        emitted, hit = self.stops.feed(text)
        if hit:
            return Delta(
                text=emitted,
                logprobs=logprobs,
                finish_reason="stop",
                stop_sequence=self.stops.matched,
                completion_tokens=self.produced,
            )
        if emitted or logprobs:
            return Delta(text=emitted, logprobs=logprobs)
        return None

    def finish(self, reason: str) -> Delta:
        finish: FinishReason = "length" if reason == "length" else "stop"
        if self.mode == "tool_arguments":
            return Delta(finish_reason="tool_calls" if finish == "stop" else finish)
        if self.mode == "tool_call":
            rest = self.calls.finish()
            calls = [ToolCallDelta(0, arguments=rest)] if rest and self.calls.name else None
            return Delta(
                tool_calls=calls, finish_reason="tool_calls" if finish == "stop" else finish
            )
        if self.mode == "auto_tools" and not self.decided_text:
            joined = "".join(self.buffer)
            call = parse_call(joined, self.output.tool_names) if finish == "stop" else None
            if call is not None:
                name, arguments = call
                return Delta(
                    tool_calls=[ToolCallDelta(0, id=self.call_id, name=name, arguments=arguments)],
                    finish_reason="tool_calls",
                )
            emitted, _ = self.stops.feed(joined)
            return Delta(text=emitted + self.stops.flush(), finish_reason=finish)
        return Delta(text=self.stops.flush(), finish_reason=finish)
