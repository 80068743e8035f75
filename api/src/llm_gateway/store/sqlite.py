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

from ..env import SettingsError
from ..spans import child_span
from .base import Change, Item, KeyUsage, Kind, ResponseStore, StoredResponse, StoreUnavailable

T = TypeVar("T")

SPAN_ATTRIBUTES = {"db.system.name": "sqlite"}

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: stored responses and the items they introduced (the schema before versions).
    (
        """CREATE TABLE IF NOT EXISTS responses (
            owner TEXT NOT NULL, id TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL,
            record BLOB NOT NULL, PRIMARY KEY (owner, id))""",
        "CREATE INDEX IF NOT EXISTS responses_created ON responses (created)",
        "CREATE INDEX IF NOT EXISTS responses_expires ON responses (expires)",
        """CREATE TABLE IF NOT EXISTS items (
            owner TEXT NOT NULL, id TEXT NOT NULL, response_id TEXT NOT NULL,
            expires REAL NOT NULL, item BLOB NOT NULL, PRIMARY KEY (owner, id))""",
        "CREATE INDEX IF NOT EXISTS items_response ON items (owner, response_id)",
    ),
    # 2: conversations and stored chat completions (`objects`), conversation items in order.
    (
        """CREATE TABLE objects (
            kind TEXT NOT NULL, owner TEXT NOT NULL, id TEXT NOT NULL, created REAL NOT NULL,
            expires REAL NOT NULL, record BLOB NOT NULL, PRIMARY KEY (kind, owner, id))""",
        "CREATE INDEX objects_by_owner ON objects (kind, owner, created)",
        """CREATE TABLE conversation_items (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, owner TEXT NOT NULL,
            conversation_id TEXT NOT NULL, id TEXT NOT NULL, item BLOB NOT NULL)""",
        "CREATE INDEX conversation_items_by_conversation"
        " ON conversation_items (owner, conversation_id, seq)",
        # What `ping` writes: a write fails where a read would pass (read-only, full, locked).
        "CREATE TABLE IF NOT EXISTS probe (id INTEGER PRIMARY KEY, at REAL NOT NULL)",
    ),
    # 3: per-key usage by day and requests by minute (quotas, GET /v1/usage).
    (
        """CREATE TABLE key_usage (
            name TEXT NOT NULL, day TEXT NOT NULL, requests INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (name, day))""",
        """CREATE TABLE key_minutes (
            name TEXT NOT NULL, minute INTEGER NOT NULL, requests INTEGER NOT NULL,
            PRIMARY KEY (name, minute))""",
    ),
)
"""Schema version N (`PRAGMA user_version`) is the first N steps. A file made before versions
(version 0, with step 1's tables) keeps its data: each step only adds."""
SCHEMA_VERSION = len(MIGRATIONS)
BUSY_TIMEOUT_MS = 10_000  # concurrent writers (other workers) wait this long for the lock


def reason(exc: BaseException) -> str:
    """What went wrong, for the 503 and `/ready`: SQLite's own words ("database is locked",
    "database or disk is full", "attempt to write a readonly database") or the OS's; never a
    path."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


def migrate(db: sqlite3.Connection) -> None:
    """Bring the file to `SCHEMA_VERSION` in one immediate transaction, so that two workers
    starting together migrate it once."""
    db.execute("BEGIN IMMEDIATE")
    try:
        version: int = db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise sqlite3.DatabaseError(
                f"store schema version {version} is newer than this server's {SCHEMA_VERSION}"
            )
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                db.execute(statement)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


class SQLiteStore(ResponseStore):
    def __init__(self, path: str, ttl: float, max_responses: int) -> None:
        super().__init__(ttl, max_responses)
        self.path = Path(path)
        self._lock = threading.Lock()
        self._db: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection:
        if self._db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # Autocommit: `_run` opens each transaction itself, immediate (see there).
            db = sqlite3.connect(
                self.path,
                timeout=BUSY_TIMEOUT_MS / 1000,
                check_same_thread=False,
                isolation_level=None,
            )
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA synchronous=NORMAL")
                migrate(db)
            except BaseException:
                db.close()
                raise
            self._db = db
        return self._db

    async def _run(
        self, work: Callable[[sqlite3.Connection], T], operation: str, *, write: bool = True
    ) -> T:
        """`work` in one transaction. A write takes the write lock at once, so that a
        read-then-write (append to a conversation, update metadata) can never be overtaken
        by another worker's write between its read and its write; a read sees one snapshot
        and waits for no writer (WAL)."""

        def locked() -> T:
            with self._lock:
                db = self._connect()
                db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
                try:
                    result = work(db)
                except BaseException:
                    db.execute("ROLLBACK")
                    raise
                db.execute("COMMIT")
                return result

        try:
            with child_span(f"sqlite {operation}", attributes=SPAN_ATTRIBUTES):
                return await asyncio.to_thread(locked)
        except (sqlite3.Error, OSError) as exc:
            raise StoreUnavailable(reason(exc)) from exc

    def open_now(self) -> None:
        """At start: create the folder and the file (a path that cannot be is refused before
        the server serves anything, like a missing model). Faults later are 503s instead."""
        try:
            with self._lock:
                self._connect()
        except (sqlite3.Error, OSError) as exc:
            raise SettingsError(
                f"invalid configuration:\n  RESPONSE_STORE={self.path}: the SQLite store cannot "
                f"be created: {reason(exc)}"
            ) from None

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

        row = await self._run(work, "get", write=False)
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

        return {row[0]: orjson.loads(row[1]) for row in await self._run(work, "items", write=False)}

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

    # --- objects ------------------------------------------------------------------------

    async def put_object(
        self, owner: str, kind: Kind, object_id: str, record: dict[str, Any], items: list[Item]
    ) -> None:
        now = time.time()

        def work(db: sqlite3.Connection) -> None:
            db.execute(
                "INSERT OR REPLACE INTO objects VALUES (?, ?, ?, ?, ?, ?)",
                (kind, owner, object_id, now, now + self.ttl, orjson.dumps(record)),
            )
            self._add_items(db, owner, object_id, items)
            doomed = db.execute(
                "SELECT id FROM objects WHERE kind = ? AND owner = ? AND (expires < ? OR id IN"
                " (SELECT id FROM objects WHERE kind = ? AND owner = ?"
                " ORDER BY created DESC, rowid DESC LIMIT -1 OFFSET ?))",
                (kind, owner, now, kind, owner, self.max_responses),
            ).fetchall()
            for (doomed_id,) in doomed:
                self._drop(db, owner, kind, doomed_id)

        await self._run(work, "put_object")

    @staticmethod
    def _add_items(
        db: sqlite3.Connection, owner: str, conversation_id: str, items: list[Item]
    ) -> None:
        db.executemany(
            "INSERT INTO conversation_items (owner, conversation_id, id, item) VALUES (?, ?, ?, ?)",
            [(owner, conversation_id, i["id"], orjson.dumps(i)) for i in items],
        )

    @staticmethod
    def _drop(db: sqlite3.Connection, owner: str, kind: Kind, object_id: str) -> bool:
        gone = db.execute(
            "DELETE FROM objects WHERE kind = ? AND owner = ? AND id = ?", (kind, owner, object_id)
        ).rowcount
        if kind is Kind.CONVERSATION:
            db.execute(
                "DELETE FROM conversation_items WHERE owner = ? AND conversation_id = ?",
                (owner, object_id),
            )
        return bool(gone)

    @staticmethod
    def _live(db: sqlite3.Connection, owner: str, kind: Kind, object_id: str) -> Any:
        return db.execute(
            "SELECT record FROM objects WHERE kind = ? AND owner = ? AND id = ? AND expires >= ?",
            (kind, owner, object_id, time.time()),
        ).fetchone()

    async def get_object(self, owner: str, kind: Kind, object_id: str) -> dict[str, Any] | None:
        row = await self._run(
            lambda db: self._live(db, owner, kind, object_id), "get_object", write=False
        )
        return None if row is None else dict(orjson.loads(row[0]))

    async def update_object(
        self, owner: str, kind: Kind, object_id: str, change: Change
    ) -> dict[str, Any] | None:
        def work(db: sqlite3.Connection) -> dict[str, Any] | None:
            row = self._live(db, owner, kind, object_id)
            if row is None:
                return None
            record = change(orjson.loads(row[0]))
            db.execute(
                "UPDATE objects SET record = ?, expires = ?"
                " WHERE kind = ? AND owner = ? AND id = ?",
                (orjson.dumps(record), time.time() + self.ttl, kind, owner, object_id),
            )
            return record

        return await self._run(work, "update_object")

    async def delete_object(self, owner: str, kind: Kind, object_id: str) -> bool:
        return await self._run(lambda db: self._drop(db, owner, kind, object_id), "delete_object")

    async def list_objects(self, owner: str, kind: Kind) -> list[dict[str, Any]]:
        def work(db: sqlite3.Connection) -> list[Any]:
            return db.execute(
                "SELECT record FROM objects WHERE kind = ? AND owner = ? AND expires >= ?"
                " ORDER BY created, rowid",
                (kind, owner, time.time()),
            ).fetchall()

        return [orjson.loads(row[0]) for row in await self._run(work, "list_objects", write=False)]

    async def append_items(self, owner: str, conversation_id: str, items: list[Item]) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            if self._live(db, owner, Kind.CONVERSATION, conversation_id) is None:
                return False
            self._add_items(db, owner, conversation_id, items)
            db.execute(
                "UPDATE objects SET expires = ? WHERE kind = ? AND owner = ? AND id = ?",
                (time.time() + self.ttl, Kind.CONVERSATION, owner, conversation_id),
            )
            return True

        return await self._run(work, "append_items")

    async def conversation_items(self, owner: str, conversation_id: str) -> list[Item] | None:
        def work(db: sqlite3.Connection) -> list[Any] | None:
            if self._live(db, owner, Kind.CONVERSATION, conversation_id) is None:
                return None
            return db.execute(
                "SELECT item FROM conversation_items WHERE owner = ? AND conversation_id = ?"
                " ORDER BY seq",
                (owner, conversation_id),
            ).fetchall()

        rows = await self._run(work, "conversation_items", write=False)
        return None if rows is None else [orjson.loads(row[0]) for row in rows]

    async def delete_item(self, owner: str, conversation_id: str, item_id: str) -> bool:
        def work(db: sqlite3.Connection) -> bool:
            if self._live(db, owner, Kind.CONVERSATION, conversation_id) is None:
                return False
            return bool(
                db.execute(
                    "DELETE FROM conversation_items"
                    " WHERE owner = ? AND conversation_id = ? AND id = ?",
                    (owner, conversation_id, item_id),
                ).rowcount
            )

        return await self._run(work, "delete_item")

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
        return await self._run(lambda db: self._usage(db, name, day), "usage", write=False)

    @staticmethod
    def _usage(db: sqlite3.Connection, name: str, day: str) -> KeyUsage:
        row = db.execute(
            "SELECT requests, prompt_tokens, completion_tokens FROM key_usage "
            "WHERE name = ? AND day = ?",
            (name, day),
        ).fetchone()
        return KeyUsage() if row is None else KeyUsage(*row)

    async def ping(self) -> None:
        """A write, as a stored response would make one: a read-only file, a full disk or a
        lock held by another process are what fails here (a read would pass). Waits for the
        lock a second at most, not the busy timeout of real writes: `/ready` must answer."""

        def probe(db: sqlite3.Connection) -> None:
            db.execute("PRAGMA busy_timeout=1000")
            try:
                db.execute("INSERT OR REPLACE INTO probe VALUES (1, ?)", (time.time(),))
            finally:
                db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")

        # Deferred: the INSERT takes the write lock, under the one-second timeout set above.
        await self._run(probe, "ping", write=False)

    async def close(self) -> None:
        with self._lock:
            if self._db is not None:
                self._db.close()
                self._db = None
