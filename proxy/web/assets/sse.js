// Server-sent events read from a fetch() response body with a ReadableStream reader
// (EventSource cannot POST, send an Authorization header or be aborted per request).

const LINE_END = /\r\n|\r|\n/;

/**
 * Yields the data of each event in `body`, multi-line data joined with "\n", as the
 * events arrive. Events and UTF-8 characters split across network reads are put back
 * together; comments and fields other than `data` are skipped; an event cut off by the
 * end of the stream is dropped, as the SSE specification says. Leaving the loop early
 * cancels the stream.
 *
 * @param {ReadableStream<Uint8Array>} body
 * @returns {AsyncGenerator<string, void, undefined>}
 */
export async function* sseData(body) {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let data = [];
  let finished = false;
  try {
    while (!finished) {
      const { value, done } = await reader.read();
      finished = done;
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      for (;;) {
        const end = LINE_END.exec(buffer);
        // A lone "\r" at the end may be the first half of "\r\n": wait for more.
        if (!end || (!done && end[0] === "\r" && end.index === buffer.length - 1)) break;
        const line = buffer.slice(0, end.index);
        buffer = buffer.slice(end.index + end[0].length);
        if (line === "") {
          if (data.length > 0) yield data.join("\n");
          data = [];
        } else if (line === "data" || line.startsWith("data:")) {
          const value = line.slice(5);
          data.push(value.startsWith(" ") ? value.slice(1) : value);
        }
      }
    }
  } finally {
    if (!finished) await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}
