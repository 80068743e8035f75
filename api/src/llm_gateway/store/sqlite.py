"""The embedded store: one SQLite file shared by every worker of an instance (WAL mode, so
readers never wait for the writer; a busy timeout for the rare concurrent writes)."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import orjson

from ..spans import child_span
from .base import Item, KeyUsage, ResponseStore, StoredResponse, StoreUnavailable

T = TypeVar("T")

SPAN_ATTRIBUTES = {"db.system.name": "sqlite"}
SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    owner TEXT NOT NULL, id TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL,
    record BLOB NOT NULL, PRIMARY KEY (owner, id)
);
CREATE INDEX IF NOT EXISTS responses_created ON responses (created);
CREATE INDEX IF NOT EXISTS responses_expires ON responses (expires);
CREATE TABLE IF NOT EXISTS items (
    owner TEXT NOT NULL, id TEXT NOT NULL, response_id TEXT NOT NULL, expires REAL NOT NULL,
    item BLOB NOT NULL, PRIMARY KEY (owner, id)
);
CREATE INDEX IF NOT EXISTS items_response ON items (owner, response_id);
CREATE TABLE IF NOT EXISTS key_usage (
    name TEXT NOT NULL, day TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
    prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (name, day)
);
CREATE TABLE IF NOT EXISTS key_minutes (
    name TEXT NOT NULL, minute INTEGER NOT NULL, requests INTEGER NOT NULL,
    PRIMARY KEY (name, minute)
);
"""


class SQLiteStore(ResponseStore):
    def __init__(self, path: str, ttl: float, max_responses: int) -> None:
        super().__init__(ttl, max_responses)
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=10, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.executescript(SCHEMA)
            self._db = db
        return self._db

    async def _run(self, work: Callable[[sqlite3.Connection], T], operation: str) -> T:
        def locked() -> T:
            with self._lock:
                db = self._connect()
                with db:  # one transaction
                    return work(db)

        try:
            with child_span(f"sqlite {operation}", attributes=SPAN_ATTRIBUTES):
                return await asyncio.to_thread(locked)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(type(exc).__name__) from exc

    async def save(self, owner: str, record: StoredResponse) -> None:
        now = time.time()
        expires = now + self.ttl

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO responses VALUES (?, ?, ?, ?, ?)",
                (owner, record.id, now, expires, orjson.dumps(record.to_json())),
            )
            db.executemany(
                "INSERT OR REPLACE INTO items VALUES (?, ?, ?, ?, ?)",
                [(owner, i["id"], record.id, expires, orjson.dumps(i)) for i in record.items],
            )
            self._evict(db, now)

        await self._run(work, "save")

    def _evict(self, db: sqlite3.Connection, now: float) -> None:
        doomed: list[Any] = db.execute(
            "SELECT owner, id FROM responses WHERE expires < ?", (now,)
        ).fetchall()
        doomed += db.execute(
            "SELECT owner, id FROM responses ORDER BY created DESC LIMIT -1 OFFSET ?",
            (self.max_responses,),
        ).fetchall()
        if doomed:
            db.executemany("DELETE FROM responses WHERE owner = ? AND id = ?", doomed)
            db.executemany("DELETE FROM items WHERE owner = ? AND response_id = ?", doomed)

    async def get(self, owner: str, response_id: str) -> StoredResponse | None:
        def work(db: sqlite3.Connection) -> Any:
            return db.execute(
                "SELECT record FROM responses WHERE owner = ? AND id = ? AND expires >= ?",
                (owner, response_id, time.time()),
            ).fetchone()

        row = await self._run(work, "get")
        return None if row is None else StoredResponse.from_json(orjson.loads(row[0]))

    async def items(self, owner: str, item_ids: list[str]) -> dict[str, Item]:
        if not item_ids:
            return {}

        def work(db: sqlite3.Connection) -> list[Any]:
            marks = ",".join("?" * len(item_ids))
            return db.execute(
                f"SELECT id, item FROM items WHERE owner = ? AND id IN ({marks}) AND expires >= ?",
                (owner, *item_ids, time.time()),
            ).fetchall()

        return {row[0]: orjson.loads(row[1]) for row in await self._run(work, "items")}

    async def delete(self, owner: str, response_id: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            gone = db.execute(
                "DELETE FROM responses WHERE owner = ? AND id = ?", (owner, response_id)
            ).rowcount
            db.execute(
                "DELETE FROM items WHERE owner = ? AND response_id = ?", (owner, response_id)
            )
            return bool(gone)

        return await self._run(work, "delete")

    async def quota_state(self, name: str, day: str, minute: int | None) -> tuple[int, KeyUsage]:
        def work(db: sqlite3.Connection) -> tuple[int, KeyUsage]:
            count = 0
            if minute is not None:
                db.execute("DELETE FROM key_minutes WHERE name = ? AND minute < ?", (name, minute))
                db.execute(
                    "INSERT INTO key_minutes VALUES (?, ?, 1) ON CONFLICT (name, minute) "
                    "DO UPDATE SET requests = requests + 1",
                    (name, minute),
                )
                count = db.execute(
                    "SELECT requests FROM key_minutes WHERE name = ? AND minute = ?",
                    (name, minute),
                ).fetchone()[0]
            return count, self._usage(db, name, day)

        return await self._run(work, "quota_state")

    async def add_usage(self, name: str, day: str, prompt: int, completion: int) -> None:
        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT INTO key_usage VALUES (?, ?, 1, ?, ?) ON CONFLICT (name, day) DO UPDATE "
                "SET requests = requests + 1,"
                " prompt_tokens = prompt_tokens + excluded.prompt_tokens,"
                " completion_tokens = completion_tokens + excluded.completion_tokens",
                (name, day, prompt, completion),
            )

        await self._run(work, "add_usage")

    async def usage(self, name: str, day: str) -> KeyUsage:
        return await self._run(lambda db: self._usage(db, name, day), "usage")

    @staticmethod
    def _usage(db: sqlite3.Connection, name: str, day: str) -> KeyUsage:
        row = db.execute(
            "SELECT requests, prompt_tokens, completion_tokens FROM key_usage "
            "WHERE name = ? AND day = ?",
            (name, day),
        ).fetchone()
        return KeyUsage() if row is None else KeyUsage(*row)

    async def ping(self) -> None:
        await self._run(lambda db: db.execute("SELECT 1").fetchone(), "ping")

    async def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
