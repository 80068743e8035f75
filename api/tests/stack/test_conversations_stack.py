"""Conversations and stored chat completions in the Compose stack: two api replicas share
Redis, so a conversation grows by responses served by either replica, a completion stored on
one is listed and read on the other, and both survive a Redis restart (append-only file).
A session's turns (the session ids coding agents send, or X-Session-Affinity) all go to one
replica, where its history's KV is."""

from __future__ import annotations

import httpx
import openai

from ..support.scrape import scrape, total
from .conftest import Stack


def sdk(stack: Stack) -> openai.OpenAI:
    # A new connection per request (`Connection: close`), so Caddy spreads them over replicas.
    http = httpx.Client(verify=stack.tls, timeout=120, headers={"Connection": "close"})
    return openai.OpenAI(
        base_url=stack.base_url + "/v1", api_key="unused", http_client=http, max_retries=0
    )


def served(ports: list[int], route: str) -> list[float]:
    """POSTs to `route` each replica has answered (its own /metrics)."""
    return [
        total(scrape(f"http://127.0.0.1:{port}"), "llm_gateway_requests_total", route=route)
        for port in ports
    ]


def every_replica_served(ports: list[int], before: list[float]) -> bool:
    after = served(ports, "/v1/responses")
    return all(b > a for a, b in zip(before, after, strict=True))


def test_conversations_and_stored_completions_across_replicas_and_a_redis_restart(
    stack: Stack,
) -> None:
    stack.compose("up", "-d", "--scale", "api=2", "--no-recreate", "--wait")
    try:
        ports = stack.api_ports()
        assert len(ports) == 2
        client = sdk(stack)
        conversation = client.conversations.create(
            items=[{"type": "message", "role": "user", "content": "My name is Ada."}],
            metadata={"topic": "names"},
        )
        before = served(ports, "/v1/responses")
        turns = 0
        # Without a session the proxy picks by least connections, at random between idle
        # replicas: turns go on until each replica has served some (bounded).
        while turns < 6 or (turns < 30 and not every_replica_served(ports, before)):
            client.responses.create(
                model="gpt-3.5-turbo",
                input=f"Turn {turns}: say one word.",
                conversation=conversation.id,
                max_output_tokens=16,
            )
            turns += 1
        assert every_replica_served(ports, before), (before, served(ports, "/v1/responses"))
        stack.compose("restart", "redis")
        stack.compose("up", "-d", "--no-recreate", "--wait", "redis")
        items = list(client.conversations.items.list(conversation.id, order="asc"))
        users = [i for i in items if i.type == "message" and i.role == "user"]
        assert [u.content[0].text for u in users] == [  # type: ignore[union-attr]
            "My name is Ada.",
            *(f"Turn {t}: say one word." for t in range(turns)),
        ]
        assert len(items) == 1 + turns * 2  # each turn: its input and the model's message

        stored = client.chat.completions.create(
            model="gpt-3.5-turbo",
            messages=[{"role": "user", "content": "Hello!"}],
            max_tokens=8,
            store=True,
            metadata={"run": "stack"},
        )
        for _ in range(4):  # new connections: both replicas are asked
            found = client.chat.completions.retrieve(stored.id)
            assert found.choices[0].message.content == stored.choices[0].message.content
            listed = client.chat.completions.list(metadata={"run": "stack"})
            assert [c.id for c in listed.data] == [stored.id]
        assert client.conversations.retrieve(conversation.id).metadata == {"topic": "names"}

        for header in ("session-id", "x-claude-code-session-id", "x-session-affinity"):
            for session in ("one", "two", "three"):
                before = served(ports, "/v1/chat/completions")
                for _ in range(3):
                    client.chat.completions.create(
                        model="gpt-3.5-turbo",
                        messages=[{"role": "user", "content": "Hi"}],
                        max_tokens=4,
                        extra_headers={header: f"{header}-{session}"},
                    )
                after = served(ports, "/v1/chat/completions")
                took = [b - a for a, b in zip(before, after, strict=True)]
                assert sorted(took) == [0, 3], (header, session, took)  # one replica, all 3
    finally:
        stack.compose("up", "-d", "--scale", "api=1", "--wait")
