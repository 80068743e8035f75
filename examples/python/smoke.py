"""Is the gateway reachable from here? Lists the models and streams one short answer.

    python examples/python/smoke.py                       # $OPENAI_BASE_URL or localhost:8001
    python examples/python/smoke.py https://localhost/v1  # the proxy (trust its CA first)

Exit code 0 when an answer came back, 1 otherwise, with a hint about the likely cause
(stack still starting, wrong port, IPv6 `::1` versus `127.0.0.1`, certificate, API key).
"""

from __future__ import annotations

import os
import socket
import ssl
import sys
from urllib.parse import urlsplit

import openai

DEFAULT_BASE_URL = "http://localhost:8001/v1"


def base_url_from(argv: list[str]) -> str:
    url = argv[1] if len(argv) > 1 else os.environ.get("OPENAI_BASE_URL", DEFAULT_BASE_URL)
    url = url.rstrip("/")
    return url if url.endswith("/v1") else url + "/v1"


def causes(error: BaseException) -> list[BaseException]:
    """The error and everything it was raised from."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def probe(host: str, port: int) -> list[str]:
    """Which of the addresses `host` resolves to accept a TCP connection on `port`."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as error:
        return [f"{host} does not resolve: {error}"]
    lines = []
    for family, kind, proto, _, address in dict.fromkeys(infos):
        with socket.socket(family, kind, proto) as sock:
            sock.settimeout(2)
            try:
                sock.connect(address)
                state = "accepts connections"
            except OSError as error:
                state = error.strerror or str(error)
        lines.append(f"{host} -> {address[0]} port {port}: {state}")
    return lines


def hint(error: BaseException, base_url: str) -> str:
    parts = urlsplit(base_url)
    host = parts.hostname or "?"
    port = parts.port or (443 if parts.scheme == "https" else 80)
    chain = causes(error)
    text = " ".join(str(e) for e in chain).lower()
    if any(isinstance(e, ssl.SSLCertVerificationError) for e in chain) or "certificate" in text:
        return (
            "The server's certificate is not trusted. The proxy uses Caddy's local CA: copy it "
            "out with `docker compose cp proxy:/data/caddy/pki/authorities/local/root.crt .` "
            "and run with SSL_CERT_FILE=root.crt (Node: NODE_EXTRA_CA_CERTS=root.crt)."
        )
    if any(isinstance(e, ssl.SSLError) for e in chain) or "wrong version number" in text:
        return (
            f"TLS failed on {host}:{port}. Is it the right scheme? The api itself speaks plain "
            "http (port 8001); the proxy speaks https (port 443, HTTPS_PORT)."
        )
    if any(isinstance(e, ConnectionRefusedError) for e in chain) or "refused" in text:
        tips = [
            f"Nothing accepts connections on {host}:{port}.",
            "Is the stack still starting? `make up` returns once it is healthy; "
            "`docker compose ps` shows each service's state (the model loads first).",
            "Right port? `make serve` listens on 8001, the proxy on 443 (HTTPS_PORT), "
            "the api container on 127.0.0.1:8001 only.",
        ]
        tips.extend(probe(host, port))
        if host == "localhost":
            tips.append(
                "`localhost` may resolve to IPv6 ::1 before 127.0.0.1, and a server or "
                "published port may listen on one of them only: try 127.0.0.1 instead."
            )
        return "\n  ".join(tips)
    if isinstance(error, openai.APITimeoutError):
        return "The server accepted the connection but did not answer in time: is it overloaded?"
    if isinstance(error, openai.AuthenticationError):
        return "The server wants an API key: set OPENAI_API_KEY to one of its API_KEYS."
    if isinstance(error, openai.NotFoundError):
        return f"{base_url} has no such route or model: the base URL must end in /v1."
    if isinstance(error, openai.APIStatusError) and error.status_code in (502, 503, 504):
        return "The proxy is up but no api replica answers yet: wait for `docker compose ps`."
    if isinstance(error, openai.APIConnectionError):
        return f"Could not reach {host}:{port}: check the URL, the port and any proxy settings."
    return "See the error above."


def main(argv: list[str]) -> int:
    base_url = base_url_from(argv)
    client = openai.OpenAI(
        base_url=base_url,
        api_key=os.environ.get("OPENAI_API_KEY", "unused"),
        max_retries=0,
        timeout=60,
    )
    print(f"gateway: {base_url}")
    try:
        models = [m.id for m in client.models.list()]
        print(f"models: {', '.join(models)}")
        model = os.environ.get("OPENAI_MODEL") or models[0]
        print(f"{model}: ", end="", flush=True)
        stream = client.chat.completions.create(
            model=model,
            messages=[{"role": "user", "content": "Say hello in five words."}],
            max_tokens=16,
            stream=True,
        )
        for chunk in stream:
            if chunk.choices:
                print(chunk.choices[0].delta.content or "", end="", flush=True)
        print()
    except openai.OpenAIError as error:
        print(f"\nFAILED: {type(error).__name__}: {error}", file=sys.stderr)
        print(f"hint: {hint(error, base_url)}", file=sys.stderr)
        return 1
    print("OK")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
