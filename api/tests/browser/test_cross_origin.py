"""A frontend on another origin calling the proxy from the browser: CORS as Chromium
enforces it (preflight for the Authorization header, readable error bodies, other
origins blocked), through the real Caddy with API keys on."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import BrowserContext

from ..support.caddy import CaddyProcess
from .conftest import API_KEY, AppOrigin

# What a frontend does: POST with a bearer key (so the browser sends a preflight first),
# then read the SSE body with a ReadableStream reader.
STREAM_CHAT = """async ({ url, key }) => {
  const headers = { "Content-Type": "application/json" };
  if (key) headers.Authorization = `Bearer ${key}`;
  try {
    const response = await fetch(url + "/v1/chat/completions", {
      method: "POST",
      headers,
      body: JSON.stringify({
        model: "gpt-3.5-turbo",
        messages: [{ role: "user", content: "Hello from another origin" }],
        max_tokens: 12,
        stream: true,
      }),
    });
    if (!response.ok) {
      return { status: response.status, body: await response.json(),
               retryAfter: response.headers.get("Retry-After") };
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let text = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    return { status: response.status, text, requestId: response.headers.get("X-Request-ID") };
  } catch (error) {
    return { error: `${error.name}: ${error.message}` };
  }
}"""

LIST_MODELS = """async (url) => {
  try {
    const response = await fetch(url + "/v1/models");
    return { status: response.status };
  } catch (error) {
    return { error: `${error.name}: ${error.message}` };
  }
}"""


def run_from(context: BrowserContext, origin: AppOrigin, script: str, arg: Any) -> dict[str, Any]:
    page = context.new_page()
    page.goto(origin.url + "/")
    result: dict[str, Any] = page.evaluate(script, arg)
    page.close()
    return result


def test_an_allowed_origin_streams_with_an_authorization_header(
    context: BrowserContext, keyed_proxy: CaddyProcess, allowed_app: AppOrigin
) -> None:
    result = run_from(
        context, allowed_app, STREAM_CHAT, {"url": keyed_proxy.base_url, "key": API_KEY}
    )
    assert result.get("status") == 200, result
    events = [e for e in result["text"].split("\n\n") if e.strip()]
    assert events[-1] == "data: [DONE]"
    assert len(events) > 3
    assert result["requestId"], "X-Request-ID is exposed to scripts"


def test_an_error_body_is_readable_cross_origin(
    context: BrowserContext, keyed_proxy: CaddyProcess, allowed_app: AppOrigin
) -> None:
    result = run_from(context, allowed_app, STREAM_CHAT, {"url": keyed_proxy.base_url, "key": ""})
    assert result.get("status") == 401, result
    assert result["body"]["error"]["code"] == "invalid_api_key"
    assert result["body"]["error"]["type"] == "invalid_request_error"


def test_another_origin_is_blocked(
    context: BrowserContext, keyed_proxy: CaddyProcess, other_app: AppOrigin
) -> None:
    preflighted = run_from(
        context, other_app, STREAM_CHAT, {"url": keyed_proxy.base_url, "key": API_KEY}
    )
    assert preflighted.get("error", "").startswith("TypeError"), preflighted
    simple = run_from(context, other_app, LIST_MODELS, keyed_proxy.base_url)
    assert simple.get("error", "").startswith("TypeError"), simple
