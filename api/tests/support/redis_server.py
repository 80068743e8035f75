"""A real redis-server (Debian's) on a loopback port, with its append-only file in a temp
folder, for the tests of the shared store. Missing redis-server: those tests skip, unless
REQUIRE_REDIS=1 (CI) makes it a failure."""

from __future__ import annotations

import shutil
import signal
import socket
import subprocess
import tempfile
from pathlib import Path

import redis

from .markers import require_marker
from .polling import poll_until
from .processes import free_port, require_binary


def require_redis_server() -> str:
    return require_binary("redis-server", "redis-server", "REQUIRE_REDIS")


class RedisProcess:
    """Only from a test marked `server`; `restart()` keeps its data (the append-only file)."""

    def __init__(self) -> None:
        require_marker("server")
        self.binary = require_redis_server()
        self.dir = Path(tempfile.mkdtemp(prefix="redis-test-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                self.binary,
                "--port", str(self.port),
                "--bind", "127.0.0.1",
                "--dir", str(self.dir),
                "--appendonly", "yes",
                "--save", "",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        poll_until(self.answers_ping, 10, what="redis-server to answer PING", retry_on=(OSError,))

    def answers_ping(self) -> bool:
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")

    def stop(self) -> None:
        """SIGTERM: Redis flushes its append-only file, as `docker compose restart` does."""
        if self.proc is not None:
            self.proc.terminate()
            self.proc.wait(10)
            self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def pause(self) -> None:
        """SIGSTOP: connections stay open and nothing answers (a Redis that is very slow)."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGCONT)

    def command(self, *args: str) -> object:
        """One command on a connection of its own (e.g. CONFIG SET maxmemory)."""
        client = redis.Redis(port=self.port, socket_timeout=5)
        try:
            return client.execute_command(*args)
        finally:
            client.close()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
