"""The server's lifecycle as the app sees it: the signal that the graceful shutdown period
is ending. Set by the server (`serving.DrainingServer`); read by every open response (a
stream ends with an error event, a queued request gets a 503). A bottom-floor module: the
routes and the server both import it, it imports nothing of the app."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


class ShutdownSignal(asyncio.Event):
    """ "The graceful shutdown period is ending". It also tells its subscribers the moment it
    is set, so no task per response has to wait on it."""

    def __init__(self) -> None:
        super().__init__()
        self._subscribers: set[Callable[[], None]] = set()

    def set(self) -> None:
        super().set()
        for notify in list(self._subscribers):
            notify()

    def subscribe(self, notify: Callable[[], None]) -> Callable[[], None]:
        """Call `notify` when set; returns the unsubscribe function."""
        self._subscribers.add(notify)
        return lambda: self._subscribers.discard(notify)


def shutdown_signal(app: object) -> ShutdownSignal | None:
    """The signal `create_app` leaves on `app.state.shutting_down` (None: not one of ours)."""
    signal = getattr(getattr(app, "state", None), "shutting_down", None)
    return signal if isinstance(signal, ShutdownSignal) else None


class StartFailure:
    """ "A model could not be loaded": the server must not half-start (answer /health while
    never becoming ready). The app records the reason (`fail`); the server (serving.Worker)
    is told at once, stops, and its worker exits with gunicorn's boot-error code, which
    stops the whole server with the reason as its last log line."""

    def __init__(self) -> None:
        self.reason: str | None = None
        self._subscribers: set[Callable[[str], None]] = set()

    def fail(self, reason: str) -> None:
        if self.reason is None:
            self.reason = reason
            for notify in list(self._subscribers):
                notify(reason)

    def subscribe(self, notify: Callable[[str], None]) -> None:
        self._subscribers.add(notify)


def start_failure(app: object) -> StartFailure | None:
    """The record `create_app` leaves on `app.state.start_failure` (None: not one of ours)."""
    failure = getattr(getattr(app, "state", None), "start_failure", None)
    return failure if isinstance(failure, StartFailure) else None
