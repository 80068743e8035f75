"""Stored Responses in the Compose stack: two api replicas share Redis, so a conversation
continues whichever replica serves each turn, and survives a Redis restart (append-only
file)."""

from __future__ import annotations

import httpx

from .conftest import Stack


def responses_served(port: int) -> float:
    """POST /v1/responses requests this replica has answered (from its own /metrics)."""
    total = 0.0
    for line in httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text.splitlines():
        if line.startswith("llm_gateway_requests_total{") and all(
            label in line for label in ('route="/v1/responses"', 'method="POST"')
        ):
            total += float(line.rsplit(" ", 1)[1])
    return total


def turn(stack: Stack, ports: list[int], **body: object) -> tuple[dict[str, object], int]:
    """One turn on a new connection; returns the response and the index of the replica."""
    before = [responses_served(p) for p in ports]
    with stack.client() as client:
        r = client.post("/v1/responses", json={"model": "gpt-3.5-turbo", **body})
    assert r.status_code == 200, r.text
    after = [responses_served(p) for p in ports]
    (served,) = [i for i, (a, b) in enumerate(zip(after, before, strict=True)) if a > b]
    return r.json(), served


def test_a_conversation_continues_across_replicas_and_a_redis_restart(stack: Stack) -> None:
    stack.compose("up", "-d", "--scale", "api=2", "--no-recreate", "--wait")
    try:
        ports = stack.api_ports()
        assert len(ports) == 2
        first, first_replica = turn(
            stack, ports, input="My name is Ada.", max_output_tokens=16, temperature=0
        )
        stack.compose("restart", "redis")
        stack.compose("up", "-d", "--no-recreate", "--wait", "redis")  # healthy again
        for _ in range(30):  # until the other replica serves turn 2
            second, replica = turn(
                stack,
                ports,
                input="What is my name?",
                previous_response_id=first["id"],
                max_output_tokens=16,
            )
            assert second["previous_response_id"] == first["id"]
            if replica != first_replica:
                break
        assert replica != first_replica, "every turn went to the same replica"
        with stack.client() as client:
            items = client.get(f"/v1/responses/{second['id']}/input_items").json()
        assert [i["content"][0]["text"] for i in items["data"]] == ["What is my name?"]
    finally:
        stack.compose("up", "-d", "--scale", "api=1", "--wait")
