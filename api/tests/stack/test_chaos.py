"""The chaos run: faults injected one after another into the Compose stack (two api replicas
behind Caddy, Redis) under a steady, bounded load of stored responses through the proxy.

Each fault has a window: from the moment it is injected until the component that failed
serves again. The run passes when

- no request fails outside a fault window (the load itself is healthy);
- inside a window, only the requests the fault could take are lost: a killed worker or a
  paused replica takes the requests in flight when it happened (a request arriving later
  waits in the listen backlog or goes to the other replica); a restarted proxy takes its
  in-flight requests and refuses connections while it is down (nothing was sent: the client
  may retry); a restarted Redis answers the requests that need it, meanwhile, with the
  documented 503 and `Retry-After`;
- every response stored before a fault is readable after it (Redis keeps its append-only
  file), and the stack is healthy at the end: `/ready` on every replica, a request through
  the proxy succeeds.

The load is a few threads in this test, each sending one request at a time on a new
connection, bounded in count and time; every request's start, end and outcome is kept.
"""

from __future__ import annotations

import json
import ssl
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from ..support.polling import poll_until
from .conftest import Stack

CLIENTS = 6  # the default model batches up to 8 sequences per replica
MAX_REQUESTS = 3000  # a bound, never reached in a passing run
MAX_SECONDS = 240.0  # a guard: a passing run stops the load well before
PAUSE_SECONDS = 4.0
SETTLED = 2  # successes started after a recovery before the next fault
BODY = {
    "model": "gpt-3.5-turbo",
    "input": "Say one short sentence.",
    "max_output_tokens": 16,  # the smallest allowed: the default model is real, keep it cheap
    "temperature": 0,
    "store": True,
}

# Kill the api worker (gunicorn's only child of PID 1) inside the container: the master
# respawns it. Prints the killed worker's process id.
KILL_WORKER = """
import os, signal
(pid,) = [int(p) for p in os.listdir('/proc') if p.isdigit()
          and open(f'/proc/{p}/stat').read().rsplit(')', 1)[1].split()[1] == '1']
os.kill(pid, signal.SIGKILL)
print(pid)
"""


@dataclass(slots=True)
class Outcome:
    """One load request, as its client saw it."""

    start: float
    end: float
    status: int | None = None  # None: no HTTP answer
    refused: bool = False  # the connection (TCP or TLS) failed: nothing was sent
    error: str = ""
    retry_after: str | None = None
    response_id: str | None = None

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.response_id is not None

    def in_flight(self, start: float, end: float) -> bool:
        return self.start <= end and self.end >= start


@dataclass(slots=True)
class Fault:
    """One injected fault: injected between `t0` and `t1`, served again at `t2`. `allows` says
    whether a failed request overlapping the window is one this fault may take."""

    name: str
    allows: Callable[[Fault, Outcome], bool]
    t0: float = 0.0
    t1: float = 0.0
    t2: float = 0.0
    losses: list[Outcome] = field(default_factory=list)

    def in_flight_at_injection(self, o: Outcome) -> bool:
        return o.in_flight(self.t0, self.t1)


class Load:
    """A few client threads, one request at a time each, every one on a new connection."""

    def __init__(self, stack: Stack) -> None:
        self.base_url = stack.base_url
        self.tls = ssl.create_default_context(cafile=str(stack.ca_cert))
        self.outcomes: list[Outcome] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.deadline = time.monotonic() + MAX_SECONDS
        self.threads = [threading.Thread(target=self.run, daemon=True) for _ in range(CLIENTS)]

    def __enter__(self) -> Load:
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=90)

    def run(self) -> None:
        while not self.stopping.is_set() and time.monotonic() < self.deadline:
            with self.lock:
                if len(self.outcomes) >= MAX_REQUESTS:
                    return
            outcome = self.one()
            with self.lock:
                self.outcomes.append(outcome)
            if not outcome.ok:
                time.sleep(0.2)  # a refused connection returns at once: do not spin

    def one(self) -> Outcome:
        o = Outcome(start=time.monotonic(), end=0.0)
        try:
            with httpx.Client(base_url=self.base_url, verify=self.tls, timeout=60) as client:
                r = client.post("/v1/responses", json=BODY)
            o.status = r.status_code
            o.retry_after = r.headers.get("retry-after")
            if r.status_code == 200:
                o.response_id = r.json()["id"]
            else:
                o.error = r.text[:200]
        except httpx.ConnectError as exc:
            o.refused, o.error = True, repr(exc)
        except httpx.HTTPError as exc:
            o.error = repr(exc)
        o.end = time.monotonic()
        return o

    def snapshot(self) -> list[Outcome]:
        with self.lock:
            return list(self.outcomes)

    def first_stored(self) -> str:
        (rid,) = [o.response_id for o in self.snapshot() if o.response_id][:1]
        return rid

    def succeeded_since(self, t: float) -> int:
        return sum(o.ok and o.start >= t for o in self.snapshot())


def docker(*args: str) -> str:
    run = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, f"docker {' '.join(args)}: {run.stderr}"
    return run.stdout


def ready(port: int) -> bool:
    return httpx.get(f"http://127.0.0.1:{port}/ready", timeout=5).status_code == 200


def served_through_proxy(stack: Stack) -> bool:
    r = httpx.get(stack.base_url + "/v1/models", verify=stack.tls, timeout=10)
    return r.status_code == 200


def start_proxy(stack: Stack) -> None:
    stack.compose("start", "proxy")
    poll_until(lambda: served_through_proxy(stack), 60, 0.2, retry_on=(httpx.HTTPError,))


# What each fault may take (a failed request overlapping its window).
def in_flight(fault: Fault, o: Outcome) -> bool:
    return fault.in_flight_at_injection(o)


def in_flight_or_refused(fault: Fault, o: Outcome) -> bool:
    return o.refused or fault.in_flight_at_injection(o)


def store_unavailable(fault: Fault, o: Outcome) -> bool:
    return o.status == 503 and o.retry_after is not None and "store" in o.error


def test_chaos_run(stack: Stack) -> None:
    stack.compose("up", "-d", "--scale", "api=2", "--no-recreate", "--wait")
    containers = stack.compose("ps", "-q", "api").split()
    paused: str | None = None
    faults: list[Fault] = []
    try:
        ports = stack.api_ports()
        assert len(ports) == len(containers) == 2
        with Load(stack) as load:

            def settle(after: float) -> None:
                poll_until(
                    lambda: load.succeeded_since(after),
                    60,
                    0.2,
                    until=lambda n: n >= SETTLED,
                    what=f"{SETTLED} successes after t={after:.1f}",
                )

            def inject(
                fault: Fault, act: Callable[[], object], recover: Callable[[], object]
            ) -> None:
                fault.t0 = time.monotonic()
                act()
                fault.t1 = time.monotonic()
                recover()
                fault.t2 = time.monotonic()
                faults.append(fault)
                settle(fault.t2)

            settle(0.0)  # warm: the load runs

            # 1. An api worker killed (SIGKILL) in the first replica; gunicorn respawns it.
            killed = ""

            def kill() -> None:
                nonlocal killed
                killed = docker("exec", containers[0], "python", "-c", KILL_WORKER).strip()

            inject(
                Fault("api worker killed", in_flight),
                kill,
                lambda: poll_until(lambda: ready(ports[0]), 120, 0.2, retry_on=(httpx.HTTPError,)),
            )
            assert killed.isdigit()

            # 2. Redis restarted (append-only file on its volume): stopped, then started. While
            # it is down, a read that needs it gets the documented 503 with Retry-After.
            first = load.first_stored()

            def stop_redis() -> None:
                stack.compose("stop", "redis")
                r = httpx.get(f"http://127.0.0.1:{ports[0]}/v1/responses/{first}", timeout=30)
                assert r.status_code == 503 and r.headers.get("retry-after"), r.text

            inject(
                Fault("redis restarted", store_unavailable),
                stop_redis,
                lambda: stack.compose("up", "-d", "--no-recreate", "--wait", "redis"),
            )

            # 3. The proxy restarted: stopped (its in-flight requests are what it may take),
            # then started (connections meanwhile are refused: nothing is sent).
            inject(
                Fault("proxy restarted", in_flight_or_refused),
                lambda: stack.compose("stop", "proxy"),
                lambda: start_proxy(stack),
            )

            # 4. The second replica paused (frozen) for a few seconds: its requests stall.
            def pause() -> None:
                nonlocal paused
                docker("pause", containers[1])
                paused = containers[1]

            def unpause() -> None:
                nonlocal paused
                time.sleep(PAUSE_SECONDS)
                docker("unpause", containers[1])
                paused = None

            inject(Fault("api replica paused", in_flight), pause, unpause)
        outcomes = load.snapshot()

        # Each failure must be one a fault whose window it overlaps may take (`allows`: the
        # requests in flight when it was injected, a refused connection, the store's 503).
        strays = []
        for o in outcomes:
            if o.ok:
                continue
            exposed = [f for f in faults if o.in_flight(f.t0, f.t2)]
            if not any(f.allows(f, o) for f in exposed):
                strays.append(o)
            for f in exposed:
                f.losses.append(o)
        report = summary(outcomes, faults)
        print(report)
        assert not strays, f"failures no fault explains:\n{strays}\n{report}"

        # Every stored response is readable after every fault.
        stored = [o.response_id for o in outcomes if o.ok]
        assert stored
        with stack.client(headers={"Connection": "close"}) as client:
            unreadable = [
                rid for rid in stored if client.get(f"/v1/responses/{rid}").status_code != 200
            ]
        assert not unreadable, f"{len(unreadable)} of {len(stored)} stored responses lost"

        # Healthy at the end.
        assert all(ready(port) for port in ports)
        with stack.client() as client:
            assert client.post("/v1/responses", json=BODY).status_code == 200
    finally:
        if paused:
            docker("unpause", paused)
        stack.compose("up", "-d", "--scale", "api=1", "--wait")


def summary(outcomes: list[Outcome], faults: list[Fault]) -> str:
    """Per fault: its window, the requests in flight at injection, those that overlapped the
    window, and what was lost (sent and failed) or refused (never sent)."""
    start = min(o.start for o in outcomes)
    took = sorted(o.end - o.start for o in outcomes if o.ok)
    lines = [
        f"{len(outcomes)} requests in {max(o.end for o in outcomes) - start:.1f}s, "
        f"{len(took)} ok (median {took[len(took) // 2] if took else 0:.1f}s)"
    ]
    for f in faults:
        lines.append(
            json.dumps(
                {
                    "fault": f.name,
                    "window_s": [round(f.t0 - start, 1), round(f.t2 - start, 1)],
                    "in_flight_at_injection": sum(
                        f.in_flight_at_injection(o) and not o.refused for o in outcomes
                    ),
                    "overlapping": sum(o.in_flight(f.t0, f.t2) for o in outcomes),
                    "lost": sum(not o.refused for o in f.losses),
                    "refused": sum(o.refused for o in f.losses),
                    "statuses": sorted({str(o.status) for o in f.losses}),
                }
            )
        )
    return "\n".join(lines)
