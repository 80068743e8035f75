"""The worker's transport gathers the writes of one event-loop turn into one (serving.py)."""

from __future__ import annotations

import asyncio
from typing import Any

from llm_gateway.serving import COALESCE_BYTES, _CoalescingTransport


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


async def test_the_writes_of_one_turn_go_out_as_one_at_its_end() -> None:
    inner = Recording()
    transport = wrap(inner)
    transport.write(b"HTTP/1.1 200 OK\r\n\r\n")
    transport.write(bytearray(b"body"))
    assert inner.writes == []
    await asyncio.sleep(0)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\n\r\nbody"]
    transport.write(b"next")
    await asyncio.sleep(0)
    assert inner.writes[1:] == [b"next"]


async def test_close_sends_what_is_pending_first() -> None:
    inner = Recording()
    transport = wrap(inner)
    transport.write(b"last words")
    transport.close()
    assert inner.writes == [b"last words"]
    assert inner.closed
    await asyncio.sleep(0)  # the flush scheduled for the turn's end finds nothing to send
    assert inner.writes == [b"last words"]


async def test_a_large_burst_goes_out_at_once_so_flow_control_still_applies() -> None:
    inner = Recording()
    transport = wrap(inner)
    chunk = b"x" * (COALESCE_BYTES // 2)
    transport.write(chunk)
    transport.write(chunk)
    assert inner.writes == [chunk + chunk]
    transport.write(b"tail")
    await asyncio.sleep(0)
    assert inner.writes == [chunk + chunk, b"tail"]


async def test_nothing_is_written_to_a_closing_transport_and_the_rest_is_delegated() -> None:
    inner = Recording()
    transport = wrap(inner)
    assert transport.get_extra_info("peername") == ("127.0.0.1", 5000)
    transport.write(b"lost")
    inner.closed = True  # the peer went away meanwhile
    await asyncio.sleep(0)
    assert inner.writes == []
