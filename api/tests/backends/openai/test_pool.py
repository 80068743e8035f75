"""Picking upstreams: least in flight, ties in turn, cool-downs, each tried once."""

from __future__ import annotations

from llm_gateway.backends.metrics import NoUpstreamMetrics
from llm_gateway.backends.openai.pool import UpstreamPool, labels

URLS = ["http://a:8000/v1", "http://b:8000/v1", "http://c:8000/v1"]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def pool(clock: Clock, cooldown: float = 10.0) -> UpstreamPool:
    return UpstreamPool(URLS, cooldown=cooldown, metrics=NoUpstreamMetrics(), clock=clock)


def test_labels_are_host_and_port_with_the_path_only_to_tell_two_apart() -> None:
    assert labels(["http://a/v1", "https://b/v1", "http://[::1]:9/v1"]) == [
        "a:80",
        "b:443",
        "[::1]:9",
    ]
    assert labels(["http://a:1/v1", "http://a:1/other/v1"]) == ["a:1/v1", "a:1/other/v1"]


def test_the_least_busy_upstream_is_taken_and_ties_go_round() -> None:
    p = pool(Clock())
    a, b, c = p.upstreams
    a.in_flight, b.in_flight, c.in_flight = 2, 0, 1
    assert p.pick(set()) is b
    b.in_flight = 5
    assert p.pick(set()) is c
    for u in p.upstreams:
        u.in_flight = 0
    picks = [p.pick(set()) for _ in range(6)]
    assert {id(u): picks.count(u) for u in picks} == {id(u): 2 for u in p.upstreams}


def test_a_cooling_upstream_is_skipped_until_its_cool_down_ends() -> None:
    clock = Clock()
    p = pool(clock)
    a = p.upstreams[0]
    p.mark_down(a, "connect", ConnectionRefusedError())
    assert all(p.pick(set()) is not a for _ in range(10))
    clock.now += 10.0
    assert a in {p.pick(set()) for _ in range(10)}


def test_each_upstream_is_tried_once_the_soonest_back_first_when_all_are_cooling() -> None:
    clock = Clock()
    p = pool(clock)
    a, b, c = p.upstreams
    for upstream, age in ((a, 0.0), (b, 3.0), (c, 1.0)):
        clock.now = 100.0 + age
        p.mark_down(upstream, "timeout", TimeoutError())
    clock.now = 105.0
    tried: set = set()
    order = []
    while (u := p.pick(tried)) is not None:
        tried.add(u)
        order.append(u)
    assert order == [a, c, b]
