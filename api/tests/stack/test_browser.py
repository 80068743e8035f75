"""The chat page of the Compose stack in Chromium: https://localhost:8443/ served by the
proxy container, with Caddy's local CA trusted by the browser (its NSS database, as
`caddy trust` would do; no certificate errors ignored), streaming the real model."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect

from ..support.chromium import (
    RECORD_ANSWER_LENGTHS,
    chromium,
    collect_errors,
    require_browser,
    screenshot_path,
)
from .conftest import Stack

pytestmark = pytest.mark.browser


@pytest.fixture(autouse=True)
def _browser_available() -> None:
    """Checked before the stack fixture brings the stack up."""
    require_browser()


def test_the_chat_page_streams_an_answer(stack: Stack) -> None:
    with chromium([stack.ca_cert]) as browser:
        context = browser.new_context(viewport={"width": 900, "height": 640})
        context.set_default_timeout(60_000)
        page = context.new_page()
        errors = collect_errors(page)
        response = page.goto(stack.base_url + "/")
        assert response is not None and response.ok
        assert "script-src 'self'" in response.headers["content-security-policy"]
        expect(page.get_by_label("Model")).to_be_enabled()
        expect(page.locator("#model option[value='gpt-3.5-turbo']")).to_be_attached()
        page.get_by_label("Model").select_option("gpt-3.5-turbo")

        page.evaluate(RECORD_ANSWER_LENGTHS)
        box = page.get_by_label("Message")
        box.fill("In one short sentence: what colour is the sky?")
        box.press("Enter")
        answer = page.locator(".message.assistant").last
        expect(answer).to_have_attribute("data-state", "done", timeout=240_000)
        final = answer.locator(".content").inner_text()
        records: list[list[Any]] = page.evaluate("window.answerLengths")
        partial = {length for length, busy in records if busy and 0 < length < len(final)}
        assert len(partial) >= 2, records
        expect(answer.locator(".meta")).to_contain_text("completion tokens")
        page.screenshot(path=screenshot_path("stack-chat.png"))
        assert errors == []
        context.close()
