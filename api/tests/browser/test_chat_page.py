"""The chat page at the proxy's root (proxy/web), in Chromium, through the real Caddy:
it streams answers token by token, stops them (and the server sees the client leave),
keeps the API key, and shows the API's errors from the OpenAI error body."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import BrowserContext, Page, expect

from ..support.caddy import CaddyProcess
from ..support.chromium import RECORD_ANSWER_LENGTHS, collect_errors, screenshot_path
from ..support.polling import poll_until
from ..support.scrape import parse, total
from ..support.server import ServerProcess
from .conftest import API_KEY


def open_page(context: BrowserContext, url: str) -> tuple[Page, list[str]]:
    """The page, loaded, with every console error and uncaught exception collected
    (a Content-Security-Policy violation is reported as a console error)."""
    page = context.new_page()
    errors = collect_errors(page)
    page.goto(url + "/")
    return page, errors


def wait_for_models(page: Page) -> None:
    expect(page.get_by_label("Model")).to_be_enabled()
    expect(page.locator("#model option")).not_to_have_count(0)


def last_answer(page: Page) -> Any:
    return page.locator(".message.assistant").last


def send(page: Page, text: str) -> None:
    box = page.get_by_label("Message")
    box.fill(text)
    box.press("Enter")


def metric(api: ServerProcess, name: str) -> float:
    return total(parse(httpx.get(f"{api.base_url}/metrics", timeout=10).text), name)


def test_page_streams_an_answer_token_by_token(
    context: BrowserContext, open_proxy: CaddyProcess
) -> None:
    page, errors = open_page(context, open_proxy.base_url)
    wait_for_models(page)
    model = page.get_by_label("Model").input_value()
    page.evaluate(RECORD_ANSWER_LENGTHS)
    send(page, "Tell me about the sea.")

    answer = last_answer(page)
    expect(answer).to_have_attribute("data-state", "done")
    final = answer.locator(".content").inner_text()
    assert final
    # The same request without streaming gives the same text (the mock is deterministic):
    # nothing was lost or garbled between the SSE bytes and the page.
    with open_proxy.client(timeout=30) as client:
        body = {"model": model, "messages": [{"role": "user", "content": "Tell me about the sea."}]}
        plain = client.post("/v1/chat/completions", json=body).json()
    assert plain["choices"][0]["message"]["content"] == final

    # Token by token: the text was seen at several lengths between empty and final while
    # the stream was still open (40 tokens, each 25 ms after the last on the server).
    records: list[list[Any]] = page.evaluate("window.answerLengths")
    partial = {length for length, busy in records if busy and 0 < length < len(final)}
    assert len(partial) >= 3, records
    expect(answer.locator(".meta")).to_contain_text("completion tokens")
    expect(page.locator("#messages")).to_have_attribute("aria-busy", "false")

    page.screenshot(path=screenshot_path("chat-light.png"))
    light = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.emulate_media(color_scheme="dark")
    page.screenshot(path=screenshot_path("chat-dark.png"))
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != light
    assert errors == []


def test_enter_sends_and_shift_enter_adds_a_line(
    context: BrowserContext, open_proxy: CaddyProcess
) -> None:
    page, errors = open_page(context, open_proxy.base_url)
    wait_for_models(page)
    box = page.get_by_label("Message")
    expect(box).to_be_focused()
    page.keyboard.type("first line")
    page.keyboard.press("Shift+Enter")
    page.keyboard.type("second line")
    expect(box).to_have_value("first line\nsecond line")
    expect(page.locator(".message")).to_have_count(0)
    page.keyboard.press("Enter")
    expect(page.locator(".message.user .content")).to_have_text("first line\nsecond line")
    expect(box).to_have_value("")
    expect(last_answer(page)).to_have_attribute("data-state", "done")
    assert errors == []


def test_every_control_has_a_label(context: BrowserContext, open_proxy: CaddyProcess) -> None:
    page, _ = open_page(context, open_proxy.base_url)
    unlabelled = page.evaluate(
        """[...document.querySelectorAll("input, select, textarea")]
             .filter((e) => e.labels.length === 0).map((e) => e.id)"""
    )
    assert unlabelled == []
    for name in ("Send", "Stop", "New chat"):
        expect(page.get_by_role("button", name=name)).to_be_visible()
    expect(page.get_by_role("log", name="Conversation")).to_be_attached()


def test_a_400_shows_the_message_and_param_and_gives_the_text_back(
    context: BrowserContext, open_proxy: CaddyProcess
) -> None:
    page, _ = open_page(context, open_proxy.base_url)
    wait_for_models(page)
    too_long = "x" * 2500  # the server's MAX_PROMPT_CHARS is 2000
    send(page, too_long)
    alert = page.get_by_role("alert")
    expect(alert).to_have_attribute("data-status", "400")
    expect(alert).to_contain_text("the limit is 2000")
    expect(alert).to_contain_text("parameter: messages")
    expect(page.locator(".message")).to_have_count(0)
    expect(page.get_by_label("Message")).to_have_value(too_long)


def test_401_then_the_key_is_kept_in_local_storage(
    context: BrowserContext, keyed_proxy: CaddyProcess
) -> None:
    page, _ = open_page(context, keyed_proxy.base_url)
    alert = page.get_by_role("alert")
    expect(alert).to_have_attribute("data-status", "401")
    expect(alert).to_have_attribute("data-code", "invalid_api_key")
    expect(alert).to_contain_text("You didn't provide an API key")
    key = page.get_by_label("API key")
    expect(key).to_be_focused()

    key.fill("sk-wrong")
    key.press("Enter")
    expect(alert).to_contain_text("Incorrect API key provided")

    key.fill(API_KEY)
    key.press("Enter")
    wait_for_models(page)
    expect(alert).to_be_hidden()
    assert page.evaluate("localStorage.getItem('llm-gateway.apiKey')") == API_KEY

    page.reload()
    expect(page.get_by_label("API key")).to_have_value(API_KEY)
    wait_for_models(page)
    expect(page.get_by_role("alert")).to_be_hidden()


@pytest.fixture
def keyed_page(context: BrowserContext, keyed_proxy: CaddyProcess) -> Iterator[Page]:
    context.add_init_script(f"localStorage.setItem('llm-gateway.apiKey', '{API_KEY}')")
    page, _ = open_page(context, keyed_proxy.base_url)
    wait_for_models(page)
    yield page


def test_stop_aborts_the_stream_and_the_server_sees_the_disconnect(
    keyed_page: Page, keyed_api: ServerProcess
) -> None:
    page = keyed_page
    disconnects = metric(keyed_api, "llm_gateway_client_disconnects_total")
    send(page, "Write a very long story.")
    answer = last_answer(page)
    # Partial text while the stream is open (the full answer is 2000 tokens).
    page.wait_for_function(
        """() => document.getElementById("messages").getAttribute("aria-busy") === "true"
             && document.querySelector(".message.assistant .content").textContent.length > 20"""
    )
    expect(answer).to_have_attribute("data-state", "streaming")
    page.get_by_role("button", name="Stop").click()
    expect(answer).to_have_attribute("data-state", "stopped")
    expect(answer.locator(".meta")).to_have_text("stopped")
    shown = answer.locator(".content").inner_text()

    # The server saw the client leave before its answer was complete: the page had
    # shown partial text of a response that was still streaming.
    poll_until(
        lambda: metric(keyed_api, "llm_gateway_client_disconnects_total"),
        30,
        until=lambda n: n == disconnects + 1,
        what="the disconnect to be counted",
    )
    record = keyed_api.wait_for_log(
        lambda r: r.get("event") == "request" and r.get("disconnected") is True
    )
    assert record["path"] == "/v1/chat/completions"
    assert record["completion_tokens"] < 2000
    expect(answer.locator(".content")).to_have_text(shown)  # nothing arrives after Stop
    expect(page.get_by_role("button", name="Send")).to_be_enabled()
    expect(page.get_by_role("alert")).to_be_hidden()


def test_429_shows_the_retry_time(keyed_page: Page, keyed_api: ServerProcess) -> None:
    """One generation slot and one queue place: with both taken, the page's request is
    refused with 429 and Retry-After, and the page says when to retry."""
    release = threading.Event()

    def hold() -> None:
        with (
            httpx.Client(timeout=120) as client,
            client.stream(
                "POST",
                f"{keyed_api.base_url}/v1/chat/completions",
                json={
                    "model": "mock-model",
                    "messages": [{"role": "user", "content": "x"}],
                    "stream": True,
                },
                headers={"Authorization": f"Bearer {API_KEY}"},
            ) as r,
        ):
            for _ in r.iter_raw():
                if release.is_set():
                    return

    holders = [threading.Thread(target=hold) for _ in range(2)]
    try:
        for thread in holders:
            thread.start()
        poll_until(
            lambda: (
                metric(keyed_api, "llm_gateway_num_requests_running"),
                metric(keyed_api, "llm_gateway_num_requests_waiting"),
            ),
            30,
            until=lambda gauges: gauges == (1, 1),
            what="one running and one waiting generation",
        )
        send(keyed_page, "Hello?")
        alert = keyed_page.get_by_role("alert")
        expect(alert).to_have_attribute("data-status", "429")
        expect(alert).to_contain_text("retry shortly")
        expect(alert.locator(".retry-after")).to_have_text(re.compile(r"Retry in \d+ s\."))
        expect(keyed_page.get_by_label("Message")).to_have_value("Hello?")
    finally:
        release.set()
        for thread in holders:
            thread.join(60)


def server_items(proxy: CaddyProcess, conversation_id: str) -> httpx.Response:
    with proxy.client(timeout=30) as client:
        return client.get(f"/v1/conversations/{conversation_id}/items", params={"order": "asc"})


def test_conversations_are_kept_across_reloads_continued_and_deleted(
    context: BrowserContext, open_proxy: CaddyProcess
) -> None:
    """Two chats, a reload: both listed (from the Conversations API), the last one open;
    continue the first, delete the second (gone from the page and from the server)."""
    page, errors = open_page(context, open_proxy.base_url)
    wait_for_models(page)
    chats = page.get_by_role("navigation", name="Conversations")
    send(page, "first chat")
    expect(last_answer(page)).to_have_attribute("data-state", "done")
    first_answer = last_answer(page).locator(".content").inner_text()
    page.get_by_role("button", name="New chat").click()
    expect(page.locator(".message")).to_have_count(0)
    send(page, "second chat")
    expect(last_answer(page)).to_have_attribute("data-state", "done")
    expect(chats.locator("li")).to_have_count(2)

    page.reload()
    wait_for_models(page)
    expect(chats.locator("li")).to_have_count(2)
    expect(chats.locator(".open").first).to_have_text("second chat")
    expect(chats.locator(".open").last).to_have_text("first chat")
    expect(chats.locator('[aria-current="true"]')).to_have_text("second chat")
    expect(page.locator(".message.user .content")).to_have_text(["second chat"])

    chats.get_by_role("button", name="first chat", exact=True).click()
    expect(page.locator(".message .content")).to_have_text(["first chat", first_answer])
    send(page, "more of the first")
    expect(page.locator(".message.assistant")).to_have_count(2)
    expect(last_answer(page)).to_have_attribute("data-state", "done")
    ids: list[str] = page.evaluate("JSON.parse(localStorage.getItem('llm-gateway.conversations'))")
    first_id, second_id = ids[1], ids[0]
    items = server_items(open_proxy, first_id).json()["data"]
    assert [(i["role"], i["content"][0]["text"]) for i in items][::2] == [
        ("user", "first chat"),
        ("user", "more of the first"),
    ]

    chats.get_by_role("button", name="Delete conversation: second chat").click()
    expect(chats.locator("li")).to_have_count(1)
    assert server_items(open_proxy, second_id).status_code == 404
    page.reload()
    wait_for_models(page)
    expect(chats.locator(".open")).to_have_text(["first chat"])
    expect(page.locator(".message.user .content")).to_have_text(["first chat", "more of the first"])
    assert errors == []
