"""Chromium against proxy/Caddyfile (the real Caddy binary) in front of real gunicorn
servers with the mock backend, on loopback. Every test here is marked `browser`."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import Browser, BrowserContext

from ..support.caddy import CaddyProcess, caddy_fixture
from ..support.chromium import chromium, require_browser
from ..support.server import server_fixture
from ..support.server_env import admission, mock_pace

API_KEY = "sk-browser-test"


class AppOrigin:
    """A tiny web server on its own loopback port: another origin, like a developer's
    frontend on http://127.0.0.1:3000, with a blank page for scripts to run in."""

    PAGE = b"<!doctype html><html lang=en><title>another app</title><h1>another app</h1>"

    def __init__(self) -> None:
        page = self.PAGE

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(page)))
                self.end_headers()
                self.wfile.write(page)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextlib.contextmanager
def app_origin() -> Iterator[AppOrigin]:
    origin = AppOrigin()
    try:
        yield origin
    finally:
        origin.stop()


@pytest.fixture(scope="package", autouse=True)
def _browser_available() -> None:
    require_browser()


@pytest.fixture(scope="package")
def allowed_app() -> Iterator[AppOrigin]:
    with app_origin() as origin:
        yield origin


@pytest.fixture(scope="package")
def other_app() -> Iterator[AppOrigin]:
    with app_origin() as origin:
        yield origin


open_api = server_fixture(
    {**mock_pace(25, 40), "MAX_PROMPT_CHARS": "2000"},
    scope="package",
    doc="No keys; short answers with a visible delay between tokens.",
)
open_proxy = caddy_fixture("open_api", scope="package")
keyed_api = server_fixture(
    {"API_KEYS": API_KEY, **mock_pace(20, 2000), **admission(1, waiting=1, queue_timeout=60)},
    scope="package",
    doc="API keys on; one generation slot and one queue place per worker; answers long "
    "enough (2000 tokens, 20 ms apart) that a test stops or outlasts them on purpose.",
)
keyed_proxy = caddy_fixture(
    "keyed_api", cors_origins=lambda allowed_app: allowed_app.url, scope="package"
)


@pytest.fixture(scope="package")
def browser(open_proxy: CaddyProcess, keyed_proxy: CaddyProcess) -> Iterator[Browser]:
    """One Chromium for the package, trusting both proxies' local CAs."""
    with chromium([open_proxy.ca_cert, keyed_proxy.ca_cert]) as b:
        yield b


@pytest.fixture
def context(browser: Browser) -> Iterator[BrowserContext]:
    """A fresh profile (empty localStorage) per test."""
    ctx = browser.new_context(viewport={"width": 900, "height": 640})
    ctx.set_default_timeout(30_000)
    try:
        yield ctx
    finally:
        ctx.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
