"""uvicorn-worker's private parts, in one place: its `_serve` hard-codes uvicorn's `Server`,
and this project needs its own server class (a shutdown that drains responses first)."""

from __future__ import annotations

import sys

from gunicorn.arbiter import Arbiter
from uvicorn.server import Server
from uvicorn_worker import UvicornWorker

from . import installed_version, require

require("uvicorn-worker", installed_version("uvicorn-worker"), (0, 4, 0), (0, 5, 0))


class ServerClassWorker(UvicornWorker):  # type: ignore[misc]
    """`UvicornWorker` whose uvicorn server comes from `make_server()`."""

    def make_server(self) -> Server:
        return Server(config=self.config)

    def failed_to_start(self) -> bool:
        """After serving: whether the app failed to start after all (the worker then exits
        with gunicorn's boot-error code, which stops the master too)."""
        return False

    async def _serve(self) -> None:
        # uvicorn-worker 0.4's `_serve`, with the server class swapped.
        self.config.app = self.wsgi
        server = self.make_server()
        self._install_sigquit_handler()
        await server.serve(sockets=self.sockets)
        if not server.started or self.failed_to_start():
            sys.exit(Arbiter.WORKER_BOOT_ERROR)
