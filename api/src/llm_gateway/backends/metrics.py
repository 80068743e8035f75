"""What a backend that calls other servers reports about each of them.

The backend states what happened, per upstream (a bounded label such as `host:port` from its
configuration); the app hands it an implementation (`observability.metrics.UpstreamSeries`,
Prometheus) through `Backend.attach_metrics`. So a backend reports without importing the
app's observability, and observability defines every metric name, bucket and
multiprocess mode in one place without importing backends.
"""

from __future__ import annotations

from typing import Literal, Protocol

UpstreamErrorKind = Literal[
    "connect",  # refused, unreachable, or closed before answering
    "timeout",  # no byte within the read timeout (before or during the response)
    "http_4xx",  # answered with a client error status
    "http_5xx",  # answered with a server error status
    "error_event",  # an OpenAI error event inside a stream
    "bad_response",  # not the OpenAI protocol: non-JSON, malformed SSE, cut short
]


class UpstreamMetrics(Protocol):
    def sent(self, upstream: str) -> None:
        """A request (one attempt) went to `upstream`."""

    def in_flight(self, upstream: str, count: int) -> None:
        """Requests now open on `upstream` in this process."""

    def responded(self, upstream: str, seconds: float) -> None:
        """`upstream`'s response headers arrived `seconds` after the request was sent."""

    def failed(self, upstream: str, kind: UpstreamErrorKind) -> None:
        """An attempt on `upstream` failed."""

    def up(self, upstream: str, is_up: bool) -> None:
        """`upstream` is taken (True) or skipped for a cool-down (False)."""


class NoUpstreamMetrics:
    """The default: reports go nowhere (tests, and apps that measure nothing)."""

    def sent(self, upstream: str) -> None:
        pass

    def in_flight(self, upstream: str, count: int) -> None:
        pass

    def responded(self, upstream: str, seconds: float) -> None:
        pass

    def failed(self, upstream: str, kind: UpstreamErrorKind) -> None:
        pass

    def up(self, upstream: str, is_up: bool) -> None:
        pass
