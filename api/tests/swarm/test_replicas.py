"""Several api replicas on Swarm: a conversation stored in Redis continues on another
replica, scaling out under load, Prometheus finding every task by DNS, a rolling update
under load without a failed request, and a killed task costing at most its own requests.

Which replica served a request: see conftest (the request id in each task's log)."""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

import httpx
import pytest

from ..support.polling import poll_until
from .conftest import Swarm, docker

pytestmark = pytest.mark.swarm

CHAT = {
    "model": "gpt-3.5-turbo",
    "messages": [{"role": "user", "content": "Hello!"}],
    "max_tokens": 4,
}
# Concurrent locust users. Each has at most one request in flight, so no more than this many
# requests can be in flight on a task when it is killed.
USERS = 8


def request_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:12]}"


def respond(swarm: Swarm, rid: str, **body: Any) -> dict[str, Any]:
    """One Responses turn on a new connection, tagged with `rid`."""
    with swarm.client() as client:
        r = client.post(
            "/v1/responses",
            json={"model": "gpt-3.5-turbo", "max_output_tokens": 16, **body},
            headers={"X-Request-ID": rid},
        )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def test_a_stored_conversation_continues_on_another_replica(mock_swarm: Swarm) -> None:
    assert len(mock_swarm.running_tasks()) == 2
    first_rid = request_id("turn1")
    first = respond(mock_swarm, first_rid, input="My name is Ada.")
    first_task = mock_swarm.task_of(first_rid)
    # Turn 2 again and again, each on a new connection, until another task serves it.
    for attempt in range(40):
        rid = request_id(f"turn2-{attempt}")
        second = respond(
            mock_swarm, rid, input="What is my name?", previous_response_id=first["id"]
        )
        assert second["previous_response_id"] == first["id"]
        if mock_swarm.task_of(rid) != first_task:
            break
    else:
        pytest.fail("40 turns went to the replica that served turn 1")
    # The history came from Redis: the same input alone is shorter.
    alone = respond(mock_swarm, request_id("alone"), input="What is my name?")
    assert second["usage"]["input_tokens"] > alone["usage"]["input_tokens"]


class LightLoad:
    """One request after another from a thread, each tagged with its own request id."""

    def __init__(self, swarm: Swarm) -> None:
        self.swarm = swarm
        self.results: list[tuple[str, int | str]] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run)

    def _run(self) -> None:
        with self.swarm.client() as client:
            while not self.stopping.is_set():
                rid = request_id("scale")
                try:
                    r = client.post(
                        "/v1/chat/completions", json=CHAT, headers={"X-Request-ID": rid}
                    )
                    self.results.append((rid, r.status_code))
                except httpx.HTTPError as exc:
                    self.results.append((rid, repr(exc)))

    def __enter__(self) -> LightLoad:
        self.thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stopping.set()
        self.thread.join(60)


def test_scaling_out_under_load_reaches_the_new_replica(mock_swarm: Swarm) -> None:
    before = mock_swarm.running_tasks()
    assert len(before) == 2
    with LightLoad(mock_swarm) as load:
        poll_until(lambda: len(load.results) >= 5, 30, what="the first requests")
        docker("service", "scale", "--detach", f"{mock_swarm.service('api')}=3")
        mock_swarm.wait()
        (new_task,) = set(mock_swarm.running_tasks()) - set(before)
        poll_until(
            lambda: set(mock_swarm.served_by([rid for rid, _ in list(load.results)]).values()),
            90,
            0.5,
            until=lambda tasks: new_task in tasks,
            what=f"a request served by the new task {new_task}",
        )
    failed = [(rid, status) for rid, status in load.results if status != 200]
    assert not failed, f"{len(failed)} of {len(load.results)} requests failed: {failed[:5]}"


PROMETHEUS_PROBE = """
import json, urllib.request
targets = json.load(urllib.request.urlopen("http://prometheus:9090/api/v1/targets", timeout=5))
up = sorted(t["labels"]["instance"] for t in targets["data"]["activeTargets"]
            if t["labels"]["job"] == "llm-gateway-api" and t["health"] == "up")
try:
    urllib.request.urlopen("http://tasks.api:8001/metrics", timeout=5)
    anonymous = 200
except urllib.error.HTTPError as exc:
    anonymous = exc.code
print(json.dumps({"up": up, "anonymous_metrics": anonymous}))
"""


def test_prometheus_scrapes_every_task_found_by_dns(mock_swarm: Swarm) -> None:
    """dns_sd_configs on `tasks.api`, with the metrics token from the same secret."""
    tasks = len(mock_swarm.running_tasks())

    def probe() -> dict[str, Any]:
        result: dict[str, Any] = json.loads(mock_swarm.on_network(PROMETHEUS_PROBE))
        return result

    seen = poll_until(
        probe, 90, 1.0, until=lambda r: len(r["up"]) == tasks, what=f"{tasks} targets up"
    )
    # Without the token, /metrics refuses even on the overlay network.
    assert seen["anonymous_metrics"] == 401


def test_a_rolling_update_under_load_fails_no_request(mock_swarm: Swarm) -> None:
    before = set(mock_swarm.running_tasks())
    with mock_swarm.load(USERS) as load:
        load.wait_for_requests(30)
        docker("service", "update", "--force", "--detach", mock_swarm.service("api"))
        mock_swarm.wait()
        after = set(mock_swarm.running_tasks())
        load.wait_for_requests(30)
        result = load.stop()
    print(f"rolling update under load: {result.requests} requests, {result.failures} failed")
    assert after and not after & before, "every task was replaced"
    assert result.requests > 60
    assert result.failures == 0, result.output
    assert result.exit_code == 0, result.output


def test_a_killed_task_costs_at_most_its_requests_in_flight(mock_swarm: Swarm) -> None:
    before = mock_swarm.running_tasks()
    victim = mock_swarm.containers("api")[0]
    victim_task = docker(
        "inspect", victim, "--format", '{{index .Config.Labels "com.docker.swarm.task.id"}}'
    ).strip()
    # Streams of 64 tokens (~0.7 s): the victim is likely to have some in flight.
    with mock_swarm.load(USERS, max_failure_ratio=1, max_tokens=64) as load:
        load.wait_for_requests(30)
        docker("kill", victim)
        # Swarm notices, starts a replacement and waits until it is healthy.
        poll_until(
            mock_swarm.running_tasks,
            120,
            0.5,
            until=lambda tasks: victim_task not in tasks and len(tasks) == len(before),
            what="a replacement for the killed task",
        )
        mock_swarm.wait()
        load.wait_for_requests(30)
        result = load.stop()
    state = docker("inspect", victim_task, "--format", "{{.Status.State}} {{.Status.Err}}").strip()
    assert state.startswith("failed"), state
    errors = result.output.partition("Error report")[2]
    print(f"killed task under load: {result.requests} requests, {result.failures} failed{errors}")
    # Only requests in flight on the killed task can fail: at most one per user.
    assert result.failures <= USERS, result.output
    assert result.requests - result.failures > 60
