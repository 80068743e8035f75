"""Chat messages → prompt text with the model's own chat template (from the GGUF)."""

from __future__ import annotations

import json
from typing import Any

from ...compat.llama_cpp import Jinja2ChatFormatter, Llama, Vocab
from ...errors import InvalidRequest
from ..types import Message

# Used only when a GGUF carries no template at all.
CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + "
    "message['content'] + '<|im_end|>' + '\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


class ChatTemplate:
    def __init__(self, llm: Llama, vocab: Vocab) -> None:
        template = llm.metadata.get("tokenizer.chat_template") or CHATML
        self.knows_developer = "developer" in template
        # A template that never mentions tools would silently drop tool calls and results.
        self.knows_tools = "tool_calls" in template
        self._formatter = Jinja2ChatFormatter(
            template,
            eos_token=vocab.text(llm.token_eos()),
            bos_token=vocab.text(llm.token_bos()),
        )

    def render(self, messages: tuple[Message, ...], instructions: str | None = None) -> str:
        """Render with the template. Tool calls and results go to templates that know them;
        for others (or if the template rejects them) they become plain text turns."""
        if self.knows_tools:
            try:
                native = self._dicts(messages, instructions, plain=False)
                return self._formatter(messages=native).prompt  # type: ignore[arg-type]
            except Exception:
                pass
        plain = self._dicts(messages, instructions, plain=True)
        try:
            return self._formatter(messages=plain).prompt  # type: ignore[arg-type]
        except Exception as exc:  # the template's own raise_exception(), or a jinja error
            raise InvalidRequest(
                f"The model's chat template rejected these messages: {exc}", param="messages"
            ) from None

    def _dicts(
        self, messages: tuple[Message, ...], instructions: str | None, *, plain: bool
    ) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        for m in messages:
            role = m.role
            if role == "developer" and not self.knows_developer:
                role = "system"
            entry: dict[str, Any] = {"role": role, "content": m.content}
            if m.tool_calls:
                if plain:
                    calls = [_call_text(c) for c in m.tool_calls]
                    entry["content"] = "\n".join(filter(None, [m.content, *calls]))
                else:
                    entry["tool_calls"] = list(m.tool_calls)
            if role == "tool":
                if plain:
                    entry = {"role": "user", "content": f"Function result: {m.content}"}
                else:
                    entry["tool_call_id"] = m.tool_call_id
            out.append(entry)
        if instructions:
            if out and out[0]["role"] == "system":
                out[0] = {**out[0], "content": f"{out[0]['content']}\n\n{instructions}"}
            else:
                out.insert(0, {"role": "system", "content": instructions})
        return out


def _call_text(call: dict[str, Any]) -> str:
    function = call.get("function", {})
    try:
        arguments = json.loads(function.get("arguments") or "{}")
    except ValueError:
        arguments = function.get("arguments")
    return json.dumps({"name": function.get("name"), "arguments": arguments})
