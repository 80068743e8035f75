"""Validate bodies and chunks against the official OpenAI OpenAPI document.

The document lives outside the project (`../shared/openai/openapi.json`). Where it is
absent, `SpecValidator.available` is False and the dedicated spec tests skip with a reason;
every test also asserts the behaviour itself, so the spec is never the only check.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from .paths import REPO_ROOT

SPEC_PATH = Path(os.environ.get("OPENAI_SPEC", REPO_ROOT.parent / "shared/openai/openapi.json"))


def _nullable_to_null(node: Any) -> Any:
    """OpenAPI 3.0's `nullable: true` means nothing to JSON Schema; spell it out."""
    if isinstance(node, list):
        return [_nullable_to_null(n) for n in node]
    if not isinstance(node, dict):
        return node
    node = {k: _nullable_to_null(v) for k, v in node.items()}
    if node.pop("nullable", False):
        if isinstance(node.get("type"), str):
            node["type"] = [node["type"], "null"]
            if "enum" in node:
                node["enum"] = [*node["enum"], None]
        else:
            return {"anyOf": [node, {"type": "null"}]}
    return node


class SpecValidator:
    def __init__(self, path: Path = SPEC_PATH) -> None:
        self.path = path
        self.available = path.is_file()
        self.checked = 0
        if self.available:
            from jsonschema import Draft202012Validator
            from referencing import Registry
            from referencing.jsonschema import DRAFT202012

            document = _nullable_to_null(json.loads(path.read_text()))
            self._relax_legacy_completion_chunks(document)
            self._allow_base64_embeddings(document)
            self._allow_every_role_in_stored_messages(document)
            resource = DRAFT202012.create_resource(document)
            self._registry = Registry().with_resource("urn:openai", resource)
            self._validator_cls = Draft202012Validator
            self._cache: dict[str, Any] = {}

    @staticmethod
    def _relax_legacy_completion_chunks(document: dict[str, Any]) -> None:
        """The spec reuses `CreateCompletionResponse` for legacy stream chunks but forgets
        that `finish_reason` is null until the last chunk (as the real API sends)."""
        choice = document["components"]["schemas"]["CreateCompletionResponse"]["properties"][
            "choices"
        ]["items"]["properties"]
        reason = choice["finish_reason"]
        reason["type"] = ["string", "null"]
        reason["enum"] = [*reason["enum"], None]

    @staticmethod
    def _allow_base64_embeddings(document: dict[str, Any]) -> None:
        """The spec describes `embedding` as floats only, but with `encoding_format: base64`
        OpenAI's API (and the SDKs that ask for it by default) send a base64 string."""
        embedding = document["components"]["schemas"]["Embedding"]["properties"]
        embedding["embedding"] = {"anyOf": [embedding["embedding"], {"type": "string"}]}

    @staticmethod
    def _allow_every_role_in_stored_messages(document: dict[str, Any]) -> None:
        """`ChatCompletionMessageList` lists a stored completion's request messages (user,
        system, tool ...), but reuses the response message, whose `role` is only
        `assistant`."""
        listed = document["components"]["schemas"]["ChatCompletionMessageList"]
        message = listed["properties"]["data"]["items"]["allOf"]
        response = document["components"]["schemas"]["ChatCompletionResponseMessage"]
        relaxed = {**response, "properties": {**response["properties"]}}
        relaxed["properties"]["role"] = {
            "type": "string",
            "enum": ["system", "developer", "user", "assistant", "tool", "function"],
        }
        message[0] = relaxed

    def validate(self, schema: str, instance: Any) -> None:
        if not self.available:
            return
        validator = self._cache.get(schema)
        if validator is None:
            validator = self._validator_cls(
                {"$ref": f"urn:openai#/components/schemas/{schema}"}, registry=self._registry
            )
            self._cache[schema] = validator
        errors = sorted(validator.iter_errors(instance), key=lambda e: list(e.path))
        if errors:
            details = "\n".join(f"  at {list(e.path)}: {e.message}" for e in errors[:5])
            raise AssertionError(f"not a valid {schema}:\n{details}\n{json.dumps(instance)[:800]}")
        self.checked += 1


# Each Responses stream event's own schema (validating against the `ResponseStreamEvent` union
# only says "not valid under any of the given schemas").
RESPONSE_EVENT_SCHEMAS = {
    "response.created": "ResponseCreatedEvent",
    "response.in_progress": "ResponseInProgressEvent",
    "response.output_item.added": "ResponseOutputItemAddedEvent",
    "response.output_item.done": "ResponseOutputItemDoneEvent",
    "response.content_part.added": "ResponseContentPartAddedEvent",
    "response.content_part.done": "ResponseContentPartDoneEvent",
    "response.output_text.delta": "ResponseTextDeltaEvent",
    "response.output_text.done": "ResponseTextDoneEvent",
    "response.function_call_arguments.delta": "ResponseFunctionCallArgumentsDeltaEvent",
    "response.function_call_arguments.done": "ResponseFunctionCallArgumentsDoneEvent",
    "response.completed": "ResponseCompletedEvent",
    "response.incomplete": "ResponseIncompleteEvent",
    "response.failed": "ResponseFailedEvent",
    "error": "ResponseErrorEvent",
}


def validate_response_event(spec: SpecValidator, event: dict[str, Any]) -> None:
    """Against the event's own schema, then the union every client parses."""
    spec.validate(RESPONSE_EVENT_SCHEMAS[event["type"]], event)
    spec.validate("ResponseStreamEvent", event)
