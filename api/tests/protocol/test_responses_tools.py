"""The Responses API's tool declarations as coding agents send them: Codex's captured
requests (api/tests/agents/fixtures) parse; function tools reach the model, namespace members
flattened to `<namespace>__<name>`; hosted and freeform tools are named as ignored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from llm_gateway.errors import InvalidRequest
from llm_gateway.protocol.responses import (
    CreateResponseRequest,
    FunctionCallItem,
    flat_tool_name,
)
from llm_gateway.routes.parsing import parse_json

FIXTURES = Path(__file__).resolve().parents[1] / "agents" / "fixtures"
CODEX_FUNCTIONS = ["exec_command", "write_stdin", "request_user_input", "view_image"]
CODEX_GOALS = ["get_goal", "create_goal", "update_goal"]
MULTI_AGENT = ["close_agent", "resume_agent", "send_input", "spawn_agent", "wait_agent"]


def captured(name: str) -> dict[str, Any]:
    body: dict[str, Any] = json.loads((FIXTURES / name).read_text())["body"]
    return body


def parse(body: dict[str, Any]) -> CreateResponseRequest:
    return parse_json(json.dumps(body).encode(), CreateResponseRequest)


def tool_names(req: CreateResponseRequest) -> list[str]:
    return [t.name for t in req.tools or ()]


def test_codex_first_request_offers_its_functions_and_flattened_namespace() -> None:
    req = parse(captured("codex-first-request.json"))
    flattened = [f"multi_agent_v1__{name}" for name in MULTI_AGENT]
    assert tool_names(req) == [*CODEX_FUNCTIONS, *flattened, *CODEX_GOALS]
    assert req.tool_plan.namespaced["multi_agent_v1__spawn_agent"] == (
        "multi_agent_v1",
        "spawn_agent",
    )
    assert req.ignored_parts() == ["tools.web_search", "include.reasoning.encrypted_content"]
    # Accepted for compatibility: the service names them as ignored by their own names.
    assert {"reasoning", "prompt_cache_key", "client_metadata"} <= req.given_fields()
    assert "declared_tools" not in req.given_fields()
    assert req.store is False


def test_a_flattened_member_keeps_its_schema_and_description() -> None:
    body = captured("codex-first-request.json")
    (namespace,) = [t for t in body["tools"] if t["type"] == "namespace"]
    declared = {t["name"]: t for t in namespace["tools"]}
    offered = {t.name: t for t in parse(body).tools or ()}
    spawn = offered["multi_agent_v1__spawn_agent"]
    assert spawn.parameters == declared["spawn_agent"]["parameters"]
    assert spawn.description == declared["spawn_agent"]["description"]


def test_codex_with_a_model_it_knows_sends_custom_and_tool_search_which_are_ignored() -> None:
    req = parse(captured("codex-first-request-known-model.json"))
    assert tool_names(req) == [*CODEX_FUNCTIONS, *CODEX_GOALS]
    assert req.ignored_parts() == [
        "tools.custom",
        "tools.tool_search",
        "tools.web_search",
        "include.reasoning.encrypted_content",
    ]
    assert req.text is not None and req.text.verbosity == "low"
    assert req.reasoning is not None and req.reasoning.effort == "medium"


def test_a_namespaced_call_in_history_reads_as_the_flat_name_the_model_was_offered() -> None:
    req = parse(captured("codex-namespaced-call-output.json"))
    (call,) = [i for i in req.items if isinstance(i, FunctionCallItem)]
    assert (call.namespace, call.name) == ("multi_agent_v1", "close_agent")
    assert call.flat_name == "multi_agent_v1__close_agent"
    assert call.flat_name in tool_names(req)


def test_a_plain_call_in_history_keeps_its_name() -> None:
    req = parse(captured("codex-function-call-output.json"))
    (call,) = [i for i in req.items if isinstance(i, FunctionCallItem)]
    assert call.namespace is None
    assert call.flat_name == call.name == "exec_command"


# A request of the same shape written by hand, independent of the captures.
NAMESPACE = {
    "type": "namespace",
    "name": "crm",
    "description": "Customer records.",
    "tools": [
        {"type": "function", "name": "lookup", "parameters": {"type": "object"}},
        {"type": "custom", "name": "note", "format": {"type": "text"}},
    ],
}
FUNCTION = {"type": "function", "name": "shell", "parameters": {"type": "object"}}


def request(*tools: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"model": "m", "input": "hi", "tools": list(tools), **fields}


def test_hosted_and_custom_tools_are_named_once_each_in_order() -> None:
    req = parse(
        request(
            {"type": "web_search", "external_web_access": False},
            FUNCTION,
            NAMESPACE,
            {"type": "web_search_preview"},
            {"type": "web_search"},
            {"type": "custom", "name": "apply_patch"},
        )
    )
    assert tool_names(req) == ["shell", "crm__lookup"]
    assert req.ignored_parts() == ["tools.web_search", "tools.custom", "tools.web_search_preview"]


def test_only_hosted_tools_leave_an_empty_list_and_no_tools_leave_none() -> None:
    assert parse(request({"type": "web_search"})).tools == []
    assert parse({"model": "m", "input": "hi"}).tools is None
    assert parse({"model": "m", "input": "hi"}).ignored_parts() == []


def test_tool_choice_may_name_a_flattened_member() -> None:
    choice = {"type": "function", "name": "crm__lookup"}
    assert parse(request(NAMESPACE, tool_choice=choice)).tools is not None


def test_logprobs_are_not_an_ignored_include() -> None:
    req = parse(request(FUNCTION, include=["message.output_text.logprobs"]))
    assert req.ignored_parts() == []


@pytest.mark.parametrize(
    ("tools", "param"),
    [
        ([{"type": "teleport"}], "tools[0]"),
        ([FUNCTION, {"type": "function", "name": "shell"}], "tools[1].name"),
        ([{"type": "function", "name": "crm__lookup"}, NAMESPACE], "tools[1].tools[0].name"),
        ([{**NAMESPACE, "tools": []}], "tools[0].tools"),
        (
            [{**NAMESPACE, "name": "n" * 40, "tools": [{"type": "function", "name": "f" * 30}]}],
            "tools[0].tools[0].name",
        ),
        ([{**NAMESPACE, "tools": [{"type": "web_search"}]}], "tools[0].tools[0]"),
    ],
)
def test_declarations_the_model_could_not_tell_apart_are_a_400(
    tools: list[dict[str, Any]], param: str
) -> None:
    with pytest.raises(InvalidRequest) as info:
        parse(request(*tools))
    assert info.value.param == param


def test_the_flat_name_drops_stray_underscores_at_the_join() -> None:
    assert flat_tool_name("crm", "lookup") == "crm__lookup"
    assert flat_tool_name("mcp__", "_lookup") == "mcp__lookup"
