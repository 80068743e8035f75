"""The worker's transport sends a response's head with its first body chunk (serving.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from llm_gateway.serving import _CoalescingTransport

HEAD = b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n"


class Recording:
    """A transport that records what reaches it."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.closed = False
        self.extra = {"peername": ("127.0.0.1", 5000)}

    def write(self, data: bytes) -> None:
        assert not self.closed
        self.writes.append(data)

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def get_extra_info(self, name: str) -> Any:
        return self.extra.get(name)


def wrap(inner: Recording) -> _CoalescingTransport:
    return _CoalescingTransport(inner, asyncio.get_running_loop())  # type: ignore[arg-type]


async def test_the_head_goes_out_with_the_first_body_chunk_and_the_rest_at_once() -> None:
    inner = Recording()
    transport = wrap(inner)
    transport.write(HEAD)
    assert inner.writes == []
    transport.write(bytearray(b"body"))
    assert inner.writes == [HEAD + b"body"]
    transport.write(b"data: more\n\n")
    assert inner.writes[1:] == [b"data: more\n\n"]
    await asyncio.sleep(0)  # the end of the turn finds nothing held
    assert len(inner.writes) == 2


async def test_a_head_alone_goes_out_at_the_end_of_the_turn() -> None:
    inner = Recording()
    transport = wrap(inner)
    transport.write(HEAD)
    await asyncio.sleep(0)
    assert inner.writes == [HEAD]
    transport.write(b"late")
    assert inner.writes == [HEAD, b"late"]


async def test_close_sends_a_held_head_first() -> None:
    inner = Recording()
    transport = wrap(inner)
    transport.write(HEAD)
    transport.close()
    assert inner.writes == [HEAD]
    assert inner.closed


async def test_nothing_is_written_to_a_closing_transport_and_the_rest_is_delegated() -> None:
    inner = Recording()
    transport = wrap(inner)
    assert transport.get_extra_info("peername") == ("127.0.0.1", 5000)
    transport.write(HEAD)
    inner.closed = True  # the peer went away meanwhile
    await asyncio.sleep(0)
    assert inner.writes == []
