"""examples/node run by Node's own test runner (`node --test`) against real gunicorn
servers: openai-node (chat completions, the Responses API, embeddings), the Vercel AI SDK
(its OpenAI-compatible provider and its default provider, openai(), which calls the
Responses API), the Next.js route handlers, and on the Messages API the Anthropic SDK and
the AI SDK's Anthropic provider. The Node tests import the example files
themselves, and read the server's JSON log (GATEWAY_LOG) to see which worker served a
request. `make node-install` installs their pinned packages (`npm ci`); without Node they
are skipped, unless REQUIRE_NODE=1 (CI) fails them."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections import Counter
from pathlib import Path

import orjson
import pytest
from anthropic.types import ErrorResponse, MessageTokensCount

from ..support.anthropic_sdk import named_events, no_unknown_fields, sdk_event, sdk_message
from ..support.paths import REPO_ROOT
from ..support.server import ServerProcess
from .conftest import client_env

pytestmark = pytest.mark.node

NODE_DIR = REPO_ROOT / "examples/node"
# The chat page's modules (proxy/web/assets) have no tsconfig of their own: the web root
# holds only what Caddy serves.
CHAT_PAGE_TSC_FLAGS = [
    *("--noEmit", "--strict", "--allowJs", "--checkJs", "--target", "ES2022"),
    *("--module", "ESNext", "--moduleResolution", "bundler"),
    *("--lib", "ES2023,DOM,DOM.Iterable"),
]


@pytest.fixture(scope="module")
def node() -> str:
    problem = None
    node = shutil.which("node")
    if node is None or shutil.which("npm") is None:
        problem = "node and npm are not installed (Node.js 20+)"
    elif not (NODE_DIR / "node_modules/.package-lock.json").is_file():
        problem = "examples/node has no node_modules: run `make node-install`"
    if problem is None:
        assert node is not None
        return node
    if os.environ.get("REQUIRE_NODE") == "1":
        pytest.fail(f"{problem}; REQUIRE_NODE=1 makes the Node tests required", pytrace=False)
    pytest.skip(problem)


def run_node_tests(
    node: str, server: ServerProcess, *files: str, env: dict[str, str] | None = None
) -> str:
    """`node --test` on `files` with the server's URL and key (and `env`); fails with the
    report unless every test ran and passed."""
    run = subprocess.run(
        [node, "--import", "tsx", "--test", "--test-reporter=tap", *files],
        cwd=NODE_DIR,
        env={
            **os.environ,
            **client_env(server),
            "GATEWAY_LOG": str(server.log_path),
            "NO_COLOR": "1",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    report = run.stdout + run.stderr
    counts = dict(re.findall(r"^# (pass|fail|skipped|todo|cancelled) (\d+)$", report, re.M))
    assert run.returncode == 0, report[-6000:]
    assert int(counts.get("pass", 0)) > 0, report[-6000:]
    assert counts.get("fail") == "0" and counts.get("skipped") == "0", report[-6000:]
    return report


def test_openai_node_ai_sdk_and_nextjs_route(node: str, keyed_mock: ServerProcess) -> None:
    run_node_tests(
        node,
        keyed_mock,
        "test/openai-node.test.mjs",
        "test/responses.test.mjs",
        "test/ai-sdk.test.mjs",
        "test/ai-sdk-responses.test.mjs",
        "test/nextjs-route.test.mjs",
    )


def checked_by_the_python_sdk(responses: Path) -> Counter[str]:
    """The responses the Node tests wrote (ANTHROPIC_RESPONSES_DIR), each through the
    Python SDK's own types, strictly; how many of each `endpoint status kind`."""
    seen: Counter[str] = Counter()
    for path in sorted(responses.iterdir()):
        endpoint, status, _ = path.name.split("-", 2)
        raw = path.read_bytes()
        if path.suffix == ".sse":
            for name, payload in named_events(raw):
                if name != "ping":  # not a RawMessageStreamEvent: the SDKs skip it
                    sdk_event(payload)
        elif status != "200":
            no_unknown_fields(ErrorResponse.model_validate(orjson.loads(raw), strict=True))
        elif endpoint == "count_tokens":
            no_unknown_fields(MessageTokensCount.model_validate(orjson.loads(raw), strict=True))
        else:
            sdk_message(orjson.loads(raw))
        seen[f"{endpoint} {status} {path.suffix[1:]}"] += 1
    return seen


def test_anthropic_sdk_and_the_ai_sdk_anthropic_provider(
    node: str, keyed_mock: ServerProcess, tmp_path: Path
) -> None:
    """@anthropic-ai/sdk and @ai-sdk/anthropic on /v1/messages: every body and event they
    were given is checked in Node against the TypeScript SDK's declared types
    (test/anthropic-shapes.mjs), then here against the Python SDK's."""
    run_node_tests(
        node,
        keyed_mock,
        "test/anthropic.test.mjs",
        "test/ai-sdk-anthropic.test.mjs",
        env={"ANTHROPIC_RESPONSES_DIR": str(tmp_path)},
    )
    seen = checked_by_the_python_sdk(tmp_path)
    assert set(seen) == {
        "messages 200 json",
        "messages 200 sse",
        "count_tokens 200 json",
        "messages 401 json",
        "messages 404 json",
    }, seen


@pytest.mark.model
def test_anthropic_tool_round_trip_with_the_default_model(
    node: str, keyed_llama: ServerProcess, tmp_path: Path
) -> None:
    run_node_tests(
        node,
        keyed_llama,
        "test/anthropic-tools.test.mjs",
        env={"ANTHROPIC_RESPONSES_DIR": str(tmp_path)},
    )
    seen = checked_by_the_python_sdk(tmp_path)
    assert seen == {"messages 200 sse": 1, "messages 200 json": 1}, seen


@pytest.mark.model
def test_tools_and_json_schema_with_the_default_model(
    node: str, keyed_llama: ServerProcess
) -> None:
    run_node_tests(node, keyed_llama, "test/tools.test.mjs", "test/responses-model.test.mjs")


def test_the_examples_and_the_chat_page_type_check(node: str) -> None:
    """tsc (strict, checkJs) over the examples, the route handlers and the tests against
    the pinned SDKs' own type definitions, and over the chat page's modules (DOM types)."""
    tsc = str(NODE_DIR / "node_modules/.bin/tsc")
    web = sorted(str(p) for p in (REPO_ROOT / "proxy/web/assets").glob("*.js"))
    for command in (
        [tsc, "--noEmit", "-p", "."],
        [tsc, *CHAT_PAGE_TSC_FLAGS, *web],
    ):
        run = subprocess.run(
            command, cwd=NODE_DIR, capture_output=True, text=True, timeout=300, check=False
        )
        assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
