"""The fault matrix's SQLite rows (the store of `make serve`), the app in process: a path that
cannot be created is refused at start with the reason; a file that becomes unwritable, a full
disk, a lock held by another process give a 503 `store_unavailable` with `Retry-After` and the
reason to requests that need the store, chat keeps serving, `/ready` says why, and it all
recovers. The full disk is real (a tiny tmpfs) where this process may mount one (root), and
simulated everywhere, like the unwritable file (SQLite's own error from a connection that
refuses writes); the lock is a real second process."""

from __future__ import annotations

import contextlib
import functools
import os
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from llm_gateway.app import create_app
from llm_gateway.config import SettingsError
from llm_gateway.store import sqlite as sqlite_store

from ..support.app import AppClient, asgi_client, settings
from ..support.reliability import CHAT, assert_error, chat_body

RESPONSES = "/v1/responses"


async def store(client: httpx.AsyncClient) -> httpx.Response:
    return await client.post(RESPONSES, json={"model": "mock-model", "input": "hi", "store": True})


async def assert_fault(client: httpx.AsyncClient, reason: str) -> None:
    """What the user gets while the store has this fault."""
    error = assert_error(await store(client), 503, "server_error", "store_unavailable")
    assert reason in error["message"]
    assert (await client.post(CHAT, json=chat_body(max_tokens=2))).status_code == 200
    ready = await client.get("/ready")
    assert ready.status_code == 200 and reason in ready.json()["store"]


async def assert_recovered(client: httpx.AsyncClient, kept: str) -> None:
    assert (await store(client)).status_code == 200
    assert (await client.get(f"{RESPONSES}/{kept}")).status_code == 200
    assert (await client.get("/ready")).json()["store"] == "ok"


def test_a_path_that_cannot_be_created_is_refused_at_start(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    path = blocker / "responses.db"  # a folder under a file
    with pytest.raises(SettingsError) as info:
        create_app(settings(response_store=str(path)))
    message = str(info.value)
    assert f"RESPONSE_STORE={path}: the SQLite store cannot be created: File exists" in message


@contextlib.contextmanager
def tiny_tmpfs(size: str = "512k") -> Iterator[Path]:
    """A real filesystem of `size` bytes (root only: mount(8))."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root; the simulated full disk runs instead")
    where = Path(tempfile.mkdtemp(prefix="sqlite-faults-"))
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(where)], capture_output=True
    )
    if mounted.returncode != 0:
        where.rmdir()
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)
        where.rmdir()


@pytest.fixture
def disk() -> Iterator[Path]:
    with tiny_tmpfs() as where:
        yield where


@pytest.fixture
async def on_disk(disk: Path) -> AsyncIterator[AppClient]:
    async with asgi_client(settings(response_store=str(disk / "responses.db"))) as client:
        yield client


async def test_a_full_disk(disk: Path, on_disk: AppClient) -> None:
    kept = (await store(on_disk)).json()["id"]
    filler = disk / "filler"
    with contextlib.suppress(OSError), filler.open("wb") as f:
        while True:  # until ENOSPC
            f.write(b"\0" * 4096)
            f.flush()
    # A stored response is a few kilobytes: it cannot fit any more.
    await assert_fault(on_disk, "database or disk is full")
    filler.unlink()
    await assert_recovered(on_disk, kept)


class FaultyConnection(sqlite3.Connection):
    """A connection whose writes fail with SQLite's own error `fault` while it is set: a
    file made read-only under an open connection (root, which these tests may run as,
    writes anyway, and a filesystem with files open for writing cannot be remounted
    read-only), or a full disk where no tmpfs can be mounted."""

    fault: str | None = None

    def execute(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if FaultyConnection.fault and sql.lstrip().upper().startswith(("INSERT", "DELETE")):
            raise sqlite3.OperationalError(FaultyConnection.fault)
        return super().execute(sql, *args)

    def executemany(self, sql: str, *args: Any) -> sqlite3.Cursor:
        if FaultyConnection.fault:
            return self.execute(sql)
        return super().executemany(sql, *args)


@pytest.mark.parametrize(
    "fault", ["attempt to write a readonly database", "database or disk is full"]
)
async def test_a_write_fault_simulated(
    fault: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    connect = functools.partial(sqlite3.connect, factory=FaultyConnection)
    monkeypatch.setattr(sqlite_store.sqlite3, "connect", connect)
    async with asgi_client(settings(response_store=str(tmp_path / "r.db"))) as client:
        kept = (await store(client)).json()["id"]
        FaultyConnection.fault = fault
        try:
            await assert_fault(client, fault)
        finally:
            FaultyConnection.fault = None
        await assert_recovered(client, kept)


HOLD_LOCK = """
import sqlite3, sys
db = sqlite3.connect(sys.argv[1], isolation_level=None)
db.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.read()
"""


@contextlib.contextmanager
def lock_held(path: Path) -> Iterator[None]:
    """Another process holds the database's write lock until the block ends."""
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_LOCK, str(path)], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline() == b"locked\n"
        yield
    finally:
        holder.communicate(b"", timeout=10)  # its end releases the lock


async def test_a_lock_held_by_another_process(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_store, "BUSY_TIMEOUT_MS", 300)  # a quicker 503 for the test
    path = tmp_path / "r.db"
    async with asgi_client(settings(response_store=str(path))) as client:
        kept = (await store(client)).json()["id"]
        with lock_held(path):
            await assert_fault(client, "database is locked")
        await assert_recovered(client, kept)
