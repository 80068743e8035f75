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
