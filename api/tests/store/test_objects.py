"""Conversations and stored chat completions in both stores: scoped by owner, capped per
owner (oldest first), updated atomically, and a conversation's items appended without loss
when many responses finish at once; an old SQLite file keeps its data when upgraded."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from llm_gateway.env import SettingsError
from llm_gateway.store import Kind, ResponseStore, open_store
from llm_gateway.store.sqlite import SCHEMA_VERSION

CONV = Kind.CONVERSATION
CHAT = Kind.COMPLETION


def item(n: int) -> dict[str, Any]:
    return {"type": "message", "id": f"msg_{n}", "role": "user", "content": []}


async def test_an_object_belongs_to_its_owner(store: ResponseStore) -> None:
    await store.put_object("alice", CONV, "conv_1", {"id": "conv_1"}, [item(0)])
    assert await store.get_object("alice", CONV, "conv_1") == {"id": "conv_1"}
    assert await store.get_object("bob", CONV, "conv_1") is None
    assert await store.get_object("alice", CHAT, "conv_1") is None
    assert await store.conversation_items("bob", "conv_1") is None
    assert not await store.append_items("bob", "conv_1", [item(1)])
    assert await store.update_object("bob", CONV, "conv_1", lambda r: {**r, "x": 1}) is None
    assert not await store.delete_item("bob", "conv_1", "msg_0")
    assert not await store.delete_object("bob", CONV, "conv_1")
    assert await store.list_objects("bob", CONV) == []
    assert await store.conversation_items("alice", "conv_1") == [item(0)]


async def test_items_append_in_order_and_go_with_their_conversation(store: ResponseStore) -> None:
    await store.put_object("alice", CONV, "c", {"id": "c"}, [])
    assert await store.conversation_items("alice", "c") == []
    assert await store.append_items("alice", "c", [item(1), item(2)])
    assert await store.append_items("alice", "c", [item(3)])
    assert await store.conversation_items("alice", "c") == [item(1), item(2), item(3)]
    assert await store.delete_item("alice", "c", "msg_2")
    assert not await store.delete_item("alice", "c", "msg_2")
    assert await store.conversation_items("alice", "c") == [item(1), item(3)]
    assert await store.delete_object("alice", CONV, "c")
    assert await store.conversation_items("alice", "c") is None
    assert not await store.append_items("alice", "c", [item(4)])
    await store.put_object("alice", CONV, "c", {"id": "c"}, [])
    assert await store.conversation_items("alice", "c") == []  # nothing left over


async def test_update_changes_the_record(store: ResponseStore) -> None:
    await store.put_object("alice", CHAT, "chat_1", {"id": "chat_1", "metadata": {}}, [])
    updated = await store.update_object(
        "alice", CHAT, "chat_1", lambda r: {**r, "metadata": {"k": "v"}}
    )
    assert updated == {"id": "chat_1", "metadata": {"k": "v"}}
    assert await store.get_object("alice", CHAT, "chat_1") == updated


async def test_beyond_the_cap_an_owners_oldest_go(store: ResponseStore) -> None:
    for n in range(5):
        await store.put_object("alice", CHAT, f"a{n}", {"id": f"a{n}"}, [])
    await store.put_object("bob", CHAT, "b0", {"id": "b0"}, [])
    assert [r["id"] for r in await store.list_objects("alice", CHAT)] == ["a2", "a3", "a4"]
    assert [r["id"] for r in await store.list_objects("bob", CHAT)] == ["b0"]
    assert await store.get_object("alice", CHAT, "a0") is None


async def test_concurrent_appends_lose_nothing(store: ResponseStore) -> None:
    await store.put_object("alice", CONV, "c", {"id": "c"}, [])
    await asyncio.gather(
        *(store.append_items("alice", "c", [item(2 * n), item(2 * n + 1)]) for n in range(20))
    )
    items = await store.conversation_items("alice", "c")
    assert items is not None and len(items) == 40
    ids = [i["id"] for i in items]
    for n in range(20):  # each append's pair stays together
        assert ids.index(f"msg_{2 * n + 1}") == ids.index(f"msg_{2 * n}") + 1


# The schema as it was before versions (a file made by the server before conversations).
OLD_SCHEMA = """
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
"""


async def test_an_old_sqlite_file_keeps_its_responses(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(OLD_SCHEMA)
    record = b'{"id":"r1","response":{"id":"r1","output":[]},"input_items":[],"conversation":[]}'
    with old:
        old.execute("INSERT INTO responses VALUES ('alice', 'r1', 0, 4e9, ?)", (record,))
        old.execute("INSERT INTO items VALUES ('alice', 'msg_1', 'r1', 4e9, '{\"id\":\"msg_1\"}')")
    old.close()

    store = open_store(str(path), ttl=3600, max_responses=10)
    got = await store.get("alice", "r1")
    assert got is not None and got.response == {"id": "r1", "output": []}
    assert await store.items("alice", ["msg_1"]) == {"msg_1": {"id": "msg_1"}}
    await store.put_object("alice", CONV, "c", {"id": "c"}, [item(0)])
    await store.close()

    again = open_store(str(path), ttl=3600, max_responses=10)  # reopening migrates nothing
    assert await again.conversation_items("alice", "c") == [item(0)]
    assert await again.get("alice", "r1") is not None
    await again.close()
    version = sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0]
    assert version == SCHEMA_VERSION >= 2


async def test_a_newer_sqlite_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "new.db"
    sqlite3.connect(path).execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}").close()
    # Refused at start, like any store that cannot be opened (not a 503 per request later).
    with pytest.raises(SettingsError, match="newer than this server"):
        open_store(str(path), ttl=3600, max_responses=10)
