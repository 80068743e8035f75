"""Schemathesis against the app's own OpenAPI document, in-process (ASGI), every operation:
valid and invalid data, with a fixed, derandomized budget.

Checks: no 5xx, status codes and content types documented, bodies conform to the documented
schemas, invalid data rejected with a 4xx, undocumented methods a 405 with `Allow`, and every
4xx/5xx body an OpenAI error object.
Valid-per-schema data may still get a 400 (cross-field rules, per-server limits such as
MAX_N that a schema cannot express), so `positive_data_acceptance` is not asked for."""

from __future__ import annotations

from collections import Counter
from typing import Any

import schemathesis
from hypothesis import settings
from schemathesis import GenerationMode
from schemathesis.specs.openapi import checks as openapi_checks

from llm_gateway.app import create_app

from ..support.app import settings as app_settings
from ..support.oracles import anthropic_error, openai_error
from .conftest import FUZZ_SETTINGS

# Generated cases per operation (valid and invalid together); schemathesis' coverage phase
# adds its deterministic boundary and wrong-type cases on top.
MAX_EXAMPLES = 60
MODEL = "mock-model"


@schemathesis.check
def error_is_the_apis_error_object(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """OpenAI's error object, or Anthropic's on the Messages API's paths."""
    if response.status_code >= 400:
        if case.path.startswith("/v1/messages"):
            anthropic_error(response.content)
        else:
            openai_error(response.content)
    return None


def _app_schema() -> schemathesis.BaseSchema:
    app = create_app(app_settings())
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.generation.update(
        modes=[GenerationMode.POSITIVE, GenerationMode.NEGATIVE],
        max_examples=MAX_EXAMPLES,
        deterministic=True,
        database="none",
    )
    return schema


# Loaded at import, as schemathesis' pytest plugin wants (its `from_fixture` loader relies
# on a pytest internal that pytest 9.2 removed). One app for the module; its lifespan is
# started by schemathesis on the first request.
schema = _app_schema()

CHECKS = [
    schemathesis.checks.not_a_server_error,
    openapi_checks.status_code_conformance,
    openapi_checks.content_type_conformance,
    openapi_checks.response_schema_conformance,
    openapi_checks.negative_data_rejection,
    openapi_checks.unsupported_method,
    error_is_the_apis_error_object,
]


def reach_the_backend(body: dict[str, Any]) -> None:
    """Valid data should mostly reach the backend: use a served model id, and give each
    message and `top_logprobs` what they need (cross-field rules the schema cannot state)."""
    body["model"] = MODEL
    for message in body.get("messages") or ():
        if message.get("content") is None and not message.get("tool_calls"):
            message["content"] = "hi"
        if message.get("role") == "tool" and not message.get("tool_call_id"):
            message["tool_call_id"] = "call_0"
    if body.get("top_logprobs") is not None:
        body["logprobs"] = True


@schema.parametrize()
@settings(FUZZ_SETTINGS, max_examples=MAX_EXAMPLES)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case, fuzz_cases: Counter[str]
) -> None:
    fuzz_cases[f"schemathesis: {case.operation.label}"] += 1
    positive = case.meta is not None and case.meta.generation.mode is GenerationMode.POSITIVE
    if positive and isinstance(case.body, dict):
        reach_the_backend(case.body)
    case.call_and_validate(checks=CHECKS)
