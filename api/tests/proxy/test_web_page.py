"""The chat page (proxy/web) served by Caddy at `/`: its own strict Content-Security-Policy
for the page and its assets only; every API route keeps `default-src 'none'`."""

from __future__ import annotations

from ..support.caddy import CaddyProcess

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
PAGE_DIRECTIVES = {
    "default-src": "'none'",
    "script-src": "'self'",
    "style-src": "'self'",
    "connect-src": "'self'",
    "img-src": "'self'",
    "base-uri": "'none'",
    "form-action": "'none'",
    "frame-ancestors": "'none'",
}


def directives(policy: str) -> dict[str, str]:
    pairs = (d.strip().split(" ", 1) for d in policy.split(";") if d.strip())
    return {name: value for name, value in pairs}


def test_the_page_and_its_assets_get_their_own_policy(proxy: CaddyProcess) -> None:
    with proxy.client() as client:
        for path, content_type in (
            ("/", "text/html"),
            ("/assets/chat.js", "text/javascript"),
            ("/assets/sse.js", "text/javascript"),
            ("/assets/chat.css", "text/css"),
            ("/assets/favicon.svg", "image/svg+xml"),
        ):
            r = client.get(path)
            assert r.status_code == 200, path
            assert r.headers["content-type"].startswith(content_type), path
            assert directives(r.headers["content-security-policy"]) == PAGE_DIRECTIVES, path
            assert r.headers["x-content-type-options"] == "nosniff"
            assert r.headers["x-frame-options"] == "DENY"
            assert "server" not in r.headers
        assert client.head("/").status_code == 200


def test_nothing_inline_in_the_page(proxy: CaddyProcess) -> None:
    """The policy allows no inline script or style, so the page must not need any."""
    with proxy.client() as client:
        html = client.get("/").text
    assert "<script>" not in html and "<style" not in html and " style=" not in html
    assert 'src="/assets/chat.js"' in html


def test_api_routes_keep_the_strict_policy(proxy: CaddyProcess) -> None:
    with proxy.client() as client:
        responses = [
            client.get("/v1/models"),
            client.post("/v1/chat/completions", json={"model": "nope", "messages": []}),
            client.post("/", json={}),
            client.get("/index.html"),
            client.get("/metrics"),
        ]
    for r in responses:
        assert r.headers["content-security-policy"] == API_POLICY, r.request.url


def test_a_missing_asset_is_an_openai_shaped_404(proxy: CaddyProcess) -> None:
    with proxy.client() as client:
        r = client.get("/assets/missing.js")
    assert r.status_code == 404
    assert r.json()["error"]["code"] == "not_found"
