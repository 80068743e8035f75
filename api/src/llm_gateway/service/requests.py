"""A validated API request → a `Generation` on the right backend: resolve the model, apply the
limits, say which fields the backend ignores. No HTTP and no wire format here."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..backends import GenerationRequest, Message, ToolSpec
from ..errors import InvalidRequest, ServiceUnavailable
from ..protocol.chat import ChatCompletionRequest, ChatMessage, NamedToolChoice
from ..protocol.common import SamplingFields
from ..protocol.completions import CompletionRequest
from .generation import Generation, GenerationStats
from .limits import Limits
from .registry import ModelRegistry, ServedModel

# Fields the service itself handles for every backend.
HANDLED_FIELDS = frozenset(
    {
        "model",
        "messages",
        "prompt",
        "stream",
        "stream_options",
        "n",
        "stop",
        "max_tokens",
        "max_completion_tokens",
        "user",
        "echo",
    }
)


def _message(message: ChatMessage) -> Message:
    role = "tool" if message.role == "function" else message.role
    return Message(
        role=role,
        content=message.text(),
        name=message.name,
        tool_calls=tuple(call.model_dump() for call in message.tool_calls or ()),
        tool_call_id=message.tool_call_id,
    )


def _sampling(req: SamplingFields) -> dict[str, Any]:
    return {
        "stop": tuple(req.stop_list),
        "temperature": req.temperature,
        "top_p": req.top_p,
        "seed": req.seed,
        "presence_penalty": req.presence_penalty,
        "frequency_penalty": req.frequency_penalty,
        "logit_bias": {int(k): v for k, v in (req.logit_bias or {}).items()},
    }


class GenerationService:
    def __init__(
        self,
        registry: ModelRegistry,
        limits: Limits,
        *,
        keep_output: bool = False,
    ) -> None:
        self.registry = registry
        self.limits = limits
        self.keep_output = keep_output

    @staticmethod
    def check_window(served: ServedModel, requested: int | None, param: str) -> None:
        """A completion limit the model could never produce is a 400 on every backend that
        knows its context window, before any work (the prompt's share is the backend's to
        check, exactly, once it has tokenized it)."""
        window = served.backend.context_window
        if window is not None and requested is not None and requested >= window:
            raise InvalidRequest(
                f"'{param}' is too large: {requested}. This model's context window is "
                f"{window} tokens, prompt and completion together.",
                param=param,
                code="context_length_exceeded",
            )

    def resolve(self, model: str) -> ServedModel:
        served = self.registry.get(model)
        if not served.backend.ready:
            raise ServiceUnavailable(f"The model '{model}' is still loading; retry shortly.")
        return served

    def _stats(self, served: ServedModel, choices: int, ignored: set[str]) -> GenerationStats:
        return GenerationStats(
            model=served.id,
            backend=served.backend.name,
            choices=choices,
            ignored_params=sorted(ignored),
            output=[[] for _ in range(choices)] if self.keep_output else None,
        )

    def chat(self, req: ChatCompletionRequest) -> Generation:
        self.limits.check_chat(req)
        served = self.resolve(req.model)
        if "chat" not in served.endpoints:
            raise InvalidRequest(
                f"The model '{req.model}' does not support chat completions.", param="model"
            )
        param = "max_completion_tokens" if req.max_completion_tokens else "max_tokens"
        self.check_window(served, req.token_limit, param)
        for i, message in enumerate(req.messages):
            if kinds := message.non_text_part_types():
                raise InvalidRequest(
                    f"This model accepts only text content; got a '{kinds[0]}' part.",
                    param=f"messages[{i}].content",
                )
        tool_choice = "none" if not req.tools else "auto"
        if isinstance(req.tool_choice, NamedToolChoice):
            tool_choice = req.tool_choice.function.name
        elif req.tool_choice is not None:
            tool_choice = req.tool_choice
        response_format = req.response_format.type if req.response_format else "text"
        json_schema = req.response_format.json_schema if req.response_format else None
        base = GenerationRequest(
            messages=tuple(_message(m) for m in req.messages),
            max_tokens=self.limits.completion_tokens(req.token_limit, explicit=True),
            logprobs=(req.top_logprobs or 0) if req.logprobs else None,
            response_format=response_format,
            json_schema=(json_schema.schema_ or {}) if json_schema else None,
            json_schema_name=json_schema.name if json_schema else None,
            json_schema_strict=json_schema.strict if json_schema else None,
            tools=tuple(
                ToolSpec(
                    t.function.name,
                    t.function.description,
                    t.function.parameters,
                    t.function.strict,
                )
                for t in req.tools or ()
            ),
            tool_choice=tool_choice,
            model=req.model,
            **_sampling(req),
        )
        n = req.n or 1
        return self._generation(req, served, [_with_choice(base, i) for i in range(n)])

    def complete(self, req: CompletionRequest) -> Generation:
        self.limits.check_completion(req)
        served = self.resolve(req.model)
        if "completions" not in served.endpoints:
            raise InvalidRequest(
                f"The model '{req.model}' does not support text completions.", param="model"
            )
        n = req.n or 1
        sampling = _sampling(req)
        if "max_tokens" in req.model_fields_set:
            self.check_window(served, req.max_tokens, "max_tokens")
        max_tokens = self.limits.completion_tokens(
            req.max_tokens, explicit="max_tokens" in req.model_fields_set
        )
        requests = [
            GenerationRequest(
                prompt=prompt,
                max_tokens=max_tokens,
                logprobs=req.logprobs,
                choice_index=i,
                model=req.model,
                **sampling,
            )
            for prompt in req.prompts
            for i in range(n)
        ]
        return self._generation(req, served, requests)

    def _generation(
        self, req: SamplingFields, served: ServedModel, requests: list[GenerationRequest]
    ) -> Generation:
        """`requests` are prompt-major: the `n` choices of each prompt are adjacent."""
        ignored = req.given_fields() - HANDLED_FIELDS - served.backend.supported_params
        return self.generation(served, requests, ignored, prompt_group_size=req.n or 1)

    def generation(
        self,
        served: ServedModel,
        requests: list[GenerationRequest],
        ignored: set[str],
        *,
        prompt_group_size: int = 1,
    ) -> Generation:
        """A generation of `requests` on `served`'s backend; `ignored`: fields the client sent
        that nothing honours (the `x-ignored-params` header)."""
        return Generation(
            model=served.id,
            backend=served.backend,
            requests=requests,
            prompt_group_size=prompt_group_size,
            slots=served.slots,
            stats=self._stats(served, len(requests), ignored),
        )


def _with_choice(base: GenerationRequest, index: int) -> GenerationRequest:
    return base if index == 0 else replace(base, choice_index=index)
