"""proxy/web/assets/sse.js, the page's SSE reader, run in Chromium on awkward input:
events, CRLF line ends and UTF-8 characters split across network reads."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import BrowserContext

from ..support.caddy import CaddyProcess

# Feeds `chunks` (lists of byte values) to sseData through a ReadableStream, one read
# each, and returns the data of every event.
PARSE = """async (chunks) => {
  const { sseData } = await import("/assets/sse.js");
  const body = new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new Uint8Array(chunk));
      controller.close();
    },
  });
  const out = [];
  for await (const data of sseData(body)) out.push(data);
  return out;
}"""


def parse(context: BrowserContext, url: str, chunks: list[bytes]) -> Any:
    page = context.new_page()
    page.goto(url + "/")
    result = page.evaluate(PARSE, [list(c) for c in chunks])
    page.close()
    return result


def split_everywhere(data: bytes) -> list[bytes]:
    return [data[i : i + 1] for i in range(len(data))]


def test_events_split_anywhere_come_out_whole(
    context: BrowserContext, open_proxy: CaddyProcess
) -> None:
    stream = (
        'data: {"a": "café ☕"}\n\n'
        ": a comment line\r\n"
        "event: ignored\r\n"
        "data: line one\r\n"
        "data:line two\r\n\r\n"
        "data: [DONE]\r\r"
    ).encode()
    expected = ['{"a": "café ☕"}', "line one\nline two", "[DONE]"]
    assert parse(context, open_proxy.base_url, [stream]) == expected
    # One byte per read: multi-byte characters and "\r\n" are split between reads.
    assert parse(context, open_proxy.base_url, split_everywhere(stream)) == expected


def test_an_event_cut_off_by_the_end_of_the_stream_is_dropped(
    context: BrowserContext, open_proxy: CaddyProcess
) -> None:
    chunks = [b"data: complete\n\n", b"data: cut off"]
    assert parse(context, open_proxy.base_url, chunks) == ["complete"]
