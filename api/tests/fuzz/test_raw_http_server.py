"""Malformed bytes against a real gunicorn server (a real socket: uvicorn's HTTP parser is
in the path): random and non-UTF-8 bodies, huge and deeply nested JSON, bodies shorter than
their Content-Length, garbage request lines and headers. The server answers with a 4xx or
closes the connection, never a 5xx or a hang, and keeps serving everyone else."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections import Counter

import httpx
import pytest
from hypothesis import given, note, settings
from hypothesis import strategies as st

from ..support.oracles import check_answer
from ..support.polling import poll_until
from ..support.procfs import server_side
from ..support.server import ServerProcess
from .conftest import FUZZ_SETTINGS

# Every test also fails if the server logged an error or a 5xx meanwhile.
pytestmark = pytest.mark.usefixtures("server_log")

CHAT = "/v1/chat/completions"
COMPLETIONS = "/v1/completions"
JSON = {"content-type": "application/json"}
EXCHANGE_TIMEOUT = 5.0  # a raw exchange still open after this counts as a hang
MAX_BODY = 65536  # the mock_server's MAX_BODY_BYTES


def healthy(server: ServerProcess) -> None:
    """/health and a chat request are answered (a server held up by a bad client would not
    answer at all: the timeouts only keep a hang from stalling the run)."""
    r = httpx.get(server.base_url + "/health", timeout=10)
    assert r.status_code == 200
    r = httpx.post(
        server.base_url + CHAT,
        json={"model": "mock-model", "messages": [{"role": "user", "content": "hi"}]},
        timeout=10,
    )
    assert r.status_code == 200, r.text


def read_by_server(server: ServerProcess, client: socket.socket) -> None:
    """Wait until the server has read every byte `client` sent so far."""
    port = client.getsockname()[1]
    poll_until(
        lambda: server_side(server.port, port),
        10,
        until=lambda conn: conn is not None and conn.receive_queue == 0,
        what=f"the server to read what the client on port {port} sent",
    )


def exchange(server: ServerProcess, data: bytes) -> bytes:
    """Send raw bytes, close our side, read until the server closes; the answer (b"" if the
    server closed without one). A server that neither answers nor closes fails the test."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=EXCHANGE_TIMEOUT) as sock:
        deadline = time.monotonic() + EXCHANGE_TIMEOUT
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while True:
            try:
                chunk = sock.recv(65536)
            except ConnectionResetError:
                return answer
            except TimeoutError:
                raise AssertionError(f"no answer and no close after {EXCHANGE_TIMEOUT}s") from None
            if not chunk:
                return answer
            answer += chunk
            assert time.monotonic() < deadline, "answer still streaming: hung?"


def check_raw_answer(answer: bytes, *, head: bool = False) -> None:
    """Nothing (closed), uvicorn's own plain 400 for what it cannot parse, or the app's
    answer: a 2xx/3xx, or a 4xx OpenAI error object (just the status for a HEAD request).
    Only the first answer is checked when the bytes held more than one request."""
    if not answer:
        return
    head, _, body = answer.partition(b"\r\n\r\n")
    status_line, *header_lines = head.split(b"\r\n")
    assert status_line.startswith(b"HTTP/1.1 "), answer[:200]
    if status_line.startswith(b"HTTP/1.1 100 "):  # `expect: 100-continue`, then we hung up
        return check_raw_answer(body, head=head)
    status = int(status_line.split()[1])
    if head:
        assert status < 500, answer[:300]
        return
    headers = dict(line.lower().split(b": ", 1) for line in header_lines if b": " in line)
    content_type = headers.get(b"content-type", b"").decode()
    if status == 400 and content_type.startswith("text/plain"):
        assert body == b"Invalid HTTP request received.", answer[:300]
        return
    check_answer(status, body, content_type)


def request(
    target: bytes, headers: list[bytes], body: bytes = b"", method: bytes = b"POST"
) -> bytes:
    lines = [method + b" " + target + b" HTTP/1.1", b"host: 127.0.0.1", *headers]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


# --- bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
def test_random_bytes_with_a_json_content_type_get_an_openai_400(
    http: httpx.Client, mock_server: ServerProcess, fuzz_cases: Counter[str], path: str
) -> None:
    @given(body=st.binary(max_size=512))
    @settings(FUZZ_SETTINGS, max_examples=60)
    def run(body: bytes) -> None:
        note(repr(body))
        fuzz_cases[f"raw http: random bytes {path}"] += 1
        r = http.post(path, content=body, headers=JSON)
        check_answer(r.status_code, r.content, r.headers["content-type"])
        assert r.status_code == 400, r.text

    run()
    healthy(mock_server)


def is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# Bytes that are not UTF-8: lone continuation bytes, overlong forms, surrogates, truncated
# sequences, 0xFE/0xFF, mixed with anything.
not_utf8 = (
    st.lists(
        st.sampled_from(
            [b"\x80", b"\xbf", b"\xc0\xaf", b"\xed\xa0\x80", b"\xe2\x82", b"\xfe", b"\xff"]
        )
        | st.binary(max_size=4),
        min_size=1,
        max_size=6,
    )
    .map(b"".join)
    .filter(lambda data: not is_utf8(data))
)


def test_invalid_utf8_in_json_strings_gets_an_openai_4xx(
    http: httpx.Client, mock_server: ServerProcess, fuzz_cases: Counter[str]
) -> None:
    @given(garbage=not_utf8, where=st.sampled_from(["model", "content", "role", "key"]))
    @settings(FUZZ_SETTINGS, max_examples=40)
    def run(garbage: bytes, where: str) -> None:
        fuzz_cases["raw http: invalid utf-8 in strings"] += 1
        parts = {"model": b"mock-model", "content": b"hi", "role": b"user", "key": b"extra"}
        parts[where] += garbage
        body = b'{"model":"%s","messages":[{"role":"%s","content":"%s"}],"%s":1}' % (
            parts["model"],
            parts["role"],
            parts["content"],
            parts["key"],
        )
        note(repr(body))
        r = http.post(CHAT, content=body, headers=JSON)
        check_answer(r.status_code, r.content, r.headers["content-type"])
        assert r.status_code == 400

    run()
    healthy(mock_server)


def nested(depth: int, open_: bytes, close: bytes) -> bytes:
    return open_ * depth + close * depth


DEEP = [nested(d, b"[", b"]") for d in (64, 300, 3000, 30000)] + [
    nested(d, b'{"a":', b"}").replace(b"}", b"", 1) + b"1}" for d in (64, 300, 3000)
]
HUGE_BODIES: list[tuple[str, bytes]] = [
    (
        "one string just under the limit",
        json.dumps(
            {
                "model": "mock-model",
                "messages": [{"role": "user", "content": "x" * (MAX_BODY - 200)}],
            }
        ).encode(),
    ),
    (
        "one string over the limit",
        json.dumps(
            {"model": "mock-model", "messages": [{"role": "user", "content": "x" * MAX_BODY}]}
        ).encode(),
    ),
    (
        "many messages",
        json.dumps(
            {"model": "mock-model", "messages": [{"role": "user", "content": "x"}] * 1500}
        ).encode(),
    ),
    (
        "many keys",
        b'{"model":"mock-model","messages":[{"role":"user","content":"x"}],'
        + b",".join(b'"k%d":%d' % (i, i) for i in range(5000))
        + b"}",
    ),
    (
        "many stop sequences",
        json.dumps(
            {
                "model": "mock-model",
                "messages": [{"role": "user", "content": "x"}],
                "stop": ["a"] * 9000,
            }
        ).encode(),
    ),
]


@pytest.mark.parametrize("path", [CHAT, COMPLETIONS])
def test_deep_nesting_and_huge_bodies_get_an_openai_4xx(
    http: httpx.Client, mock_server: ServerProcess, fuzz_cases: Counter[str], path: str
) -> None:
    places = [
        b'{"model":"mock-model","messages":%s}',
        b'{"model":"mock-model","prompt":%s}',
        b'{"model":"mock-model","messages":[{"role":"user","content":"x"}],"extra":%s}',
        b'{"model":"mock-model","prompt":"x","logit_bias":%s}',
        b'{"model":"mock-model","messages":[{"role":"user","content":"x"}],'
        b'"tools":[{"type":"function","function":{"name":"f","parameters":{"a":%s}}}]}',
        b'{"model":"mock-model","messages":[{"role":"user","content":"x"}],'
        b'"response_format":{"type":"json_schema","json_schema":{"name":"x","schema":{"a":%s}}}}',
    ]
    bodies = [place % deep for place in places for deep in DEEP] + [b for _, b in HUGE_BODIES]
    for body in bodies:
        fuzz_cases[f"raw http: deep or huge {path}"] += 1
        r = http.post(path, content=body, headers=JSON)
        try:
            check_answer(r.status_code, r.content, r.headers["content-type"])
        except AssertionError as exc:
            raise AssertionError(f"{body[:80]!r}... ({len(body)} bytes): {exc}") from None
        if len(body) > MAX_BODY:
            assert r.status_code == 413
    healthy(mock_server)


# --- connections -------------------------------------------------------------------------


def test_bodies_shorter_than_their_content_length_do_not_hold_up_the_server(
    mock_server: ServerProcess, fuzz_cases: Counter[str]
) -> None:
    """Clients that stop half-way through a body: while they wait, everyone else is served;
    when they hang up, the server lets go."""
    partial = b'{"model":"mock-model","messages":[{"role":"us'
    stalled = []
    try:
        for i in range(16):
            fuzz_cases["raw http: truncated bodies"] += 1
            sock = socket.create_connection(("127.0.0.1", mock_server.port), timeout=5)
            stalled.append(sock)
            path = CHAT if i % 2 else COMPLETIONS
            sock.sendall(
                request(
                    path.encode(),
                    [
                        b"content-type: application/json",
                        b"content-length: %d" % (len(partial) + 1000 * i + 1),
                    ],
                )
                + partial[: 1 + i * 3]
            )
        for sock in stalled:  # the server waits for the rest of each body
            read_by_server(mock_server, sock)
        healthy(mock_server)
    finally:
        for sock in stalled[::2]:
            sock.close()
    for sock in stalled[1::2]:  # half-close: the server sees the end of the body early
        with sock:
            sock.shutdown(socket.SHUT_WR)
            check_raw_answer(sock.recv(65536))
    for i in range(8):  # and the same through `exchange` (answer or close, within 5 s)
        fuzz_cases["raw http: truncated bodies"] += 1
        data = request(
            CHAT.encode(),
            [b"content-length: 500", b"expect: 100-continue"]
            if i % 2
            else [b"content-length: 500"],
            partial[: i * 5],
        )
        check_raw_answer(exchange(mock_server, data))
    healthy(mock_server)


METHODS = [
    b"GET",
    b"POST",
    b"PUT",
    b"DELETE",
    b"OPTIONS",
    b"HEAD",
    b"PATCH",
    b"TRACE",
    b"CONNECT",
    b"BREW",
    b"get",
    b"G\x00T",
    b"",
    b"P" * 5000,
]
TARGETS = [
    b"/v1/chat/completions",
    b"/v1/completions",
    b"/v1/models",
    b"/health",
    b"/v1/models/%00",
    b"/v1/models/%ff%fe",
    b"*",
    b"http://example.com/health",
    b"//",
    b"/%",
    b"/v1/../v1/models",
    b"/\xff",
    b"/ health",
    b"/" + b"a" * 10000,
    b"",
]
VERSIONS = [b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2.0", b"HTTP/0.9", b"HTTP/1.1x", b"FOO", b""]
header_names = st.sampled_from(
    [
        b"content-length",
        b"transfer-encoding",
        b"content-type",
        b"host",
        b"authorization",
        b"x-request-id",
        b"expect",
        b"connection",
        b"upgrade",
    ]
) | st.binary(min_size=0, max_size=12)
header_values = st.sampled_from(
    [
        b"0",
        b"-1",
        b"abc",
        b"99999999999999999999",
        b"5, 5",
        b"chunked",
        b"gzip, chunked",
        b"application/json",
        b"Bearer \xff",
        b"100-continue",
        b"keep-alive",
        b"websocket",
        b"h2c",
        b"a" * 9000,
        b"\x00",
        b" ",
    ]
) | st.binary(max_size=24)
raw_requests = st.builds(
    lambda method, target, version, headers, sep, body: (
        method
        + b" "
        + target
        + b" "
        + version
        + sep
        + b"".join(name + b": " + value + sep for name, value in headers)
        + sep
        + body
    ),
    st.sampled_from(METHODS),
    st.sampled_from(TARGETS),
    st.sampled_from(VERSIONS),
    st.lists(st.tuples(header_names, header_values), max_size=5),
    st.sampled_from([b"\r\n", b"\n", b"\r"]),
    st.binary(max_size=64) | st.just(b"2\r\n{}\r\n0\r\n\r\n") | st.just(b"{}"),
) | st.binary(max_size=200)


def test_garbage_request_lines_and_headers_never_crash_the_server(
    mock_server: ServerProcess, fuzz_cases: Counter[str]
) -> None:
    workers = sorted(mock_server.worker_pids())

    @given(data=raw_requests)
    @settings(FUZZ_SETTINGS, max_examples=150)
    def run(data: bytes) -> None:
        note(repr(data[:300]))
        fuzz_cases["raw http: garbage requests"] += 1
        check_raw_answer(exchange(mock_server, data), head=data.startswith(b"HEAD "))

    run()
    healthy(mock_server)
    assert sorted(mock_server.worker_pids()) == workers, "a worker died and was replaced"
