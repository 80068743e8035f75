"""SSE parsing of upstream bodies, however the bytes are split."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from llm_gateway.backends.openai.sse import EventTooLong, sse_data


async def _parse(*pieces: bytes) -> list[bytes]:
    async def chunks() -> AsyncIterator[bytes]:
        for piece in pieces:
            yield piece

    return [data async for data in sse_data(chunks())]


BODY = (
    b'data: {"a": 1}\n\n'
    b": keep-alive comment\n\n"
    b'event: message\nid: 7\ndata: {"b": 2}\n\n'
    b"data: [DONE]\n\n"
)
EXPECTED = [b'{"a": 1}', b'{"b": 2}', b"[DONE]"]


@pytest.mark.parametrize("newline", [b"\n", b"\r\n", b"\r"])
async def test_events_whatever_the_line_endings_and_splits(newline: bytes) -> None:
    body = BODY.replace(b"\n", newline)
    assert await _parse(body) == EXPECTED
    assert await _parse(*(body[i : i + 1] for i in range(len(body)))) == EXPECTED
    for cut in range(1, len(body)):
        assert await _parse(body[:cut], body[cut:]) == EXPECTED, (newline, cut)


async def test_multi_line_data_and_the_optional_space() -> None:
    assert await _parse(b"data:one\ndata: two\ndata\n\n") == [b"one\ntwo\n"]


async def test_an_event_without_its_blank_line_at_the_end_still_counts() -> None:
    assert await _parse(b'data: {"a": 1}\n\ndata: [DONE]') == [b'{"a": 1}', b"[DONE]"]
    assert await _parse(b'data: {"a": 1}\n\ndata: [DONE]\r') == [b'{"a": 1}', b"[DONE]"]


async def test_a_body_without_events_yields_nothing() -> None:
    assert await _parse(b"<html>\n<body>Bad gateway</body>\n</html>\n") == []


async def test_an_endless_event_is_refused_before_it_fills_memory(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("llm_gateway.backends.openai.sse.MAX_EVENT_BYTES", 1000)
    with pytest.raises(EventTooLong):
        await _parse(*[b"data: " + b"x" * 100] * 20)  # no line ends at all
    with pytest.raises(EventTooLong):
        await _parse(*[b"data: " + b"x" * 100 + b"\n"] * 20)  # lines, but no event end
    assert len(await _parse(*[b"data: " + b"x" * 100 + b"\n\n"] * 20)) == 20
