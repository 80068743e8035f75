"""The README and the docs pages name only what exists: every `make TARGET` is a Makefile
target, and every setting written in backticks (`N_CTX`, `N_CTX=4096 make serve`) is one the
project reads. (Docs drift silently: a renamed target or setting keeps its old name in prose
until a newcomer copies it.) Reads files only, so it runs with the fast tests."""

from __future__ import annotations

import ast
import re
import unicodedata
from pathlib import Path

import pytest

from .support.paths import REPO_ROOT

README = REPO_ROOT / "README.md"
DOCS = REPO_ROOT / "docs"
PAGES = [README, *sorted(DOCS.glob("*.md"))]

# Names the pages may use that this project does not define, each with the reason.
ALLOWED = {
    "ANTHROPIC_BASE_URL": "Anthropic's SDKs and Claude Code: where to send requests",
    "OPENAI_API_KEY": "the OpenAI SDKs' and the AI SDK's key variable",
    "OPENAI_BASE_URL": "the OpenAI SDKs' base URL variable",
    "CI": "set by CI systems",
    "SSL_CERT_FILE": "Python's ssl module and httpx: the CA bundle to trust",
    "NODE_EXTRA_CA_CERTS": "Node.js: extra CAs to trust",
    "NEXT_PUBLIC_": "Next.js: the prefix of variables it sends to the browser",
    "PYTHONPATH": "Python's import path",
    "COMPOSE_FILE": "Docker Compose: which compose files to read",
    "COMPOSE_PROJECT_NAME": "Docker Compose: the project (and Swarm stack) name",
    "ANTHROPIC_API_KEY": "Anthropic's SDKs and Claude Code: the key, sent as x-api-key",
    "ANTHROPIC_AUTH_TOKEN": "Claude Code: the key, sent as a bearer token",
    "ANTHROPIC_MODEL": "Claude Code: the model id it asks for",
    **{
        name: "Claude Code's own switches (docs/coding-agents.md)"
        for name in (
            "ANTHROPIC_DEFAULT_HAIKU_MODEL",
            "ANTHROPIC_SMALL_FAST_MODEL",
            "API_TIMEOUT_MS",
            "CLAUDE_CODE_DISABLE_EXPERIMENTAL_BETAS",
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC",
            "CLAUDE_CODE_DISABLE_THINKING",
            "CLAUDE_CODE_MAX_CONTEXT_TOKENS",
            "CLAUDE_CODE_MAX_OUTPUT_TOKENS",
            "CLAUDE_CODE_MAX_RETRIES",
            "DISABLE_AUTOUPDATER",
            "DISABLE_ERROR_REPORTING",
            "DISABLE_TELEMETRY",
        )
    },
    **{
        name: "the OpenTelemetry SDK's own variables (docs/operate.md)"
        for name in (
            "OTEL_BSP_MAX_QUEUE_SIZE",
            "OTEL_EXPORTER_OTLP_HEADERS",
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            "OTEL_RESOURCE_ATTRIBUTES",
            "OTEL_TRACES_SAMPLER",
            "OTEL_TRACES_SAMPLER_ARG",
        )
    },
    "GATEWAY_API_KEY": "the variable a Codex config.toml names in `env_key` (an example)",
    # Not third-party: the smallest backend, written out in full in docs/backends.md.
    "ECHO_TIMES": "the setting of that page's Echo backend",
}

# Upper-case words in backticks that are not variables at all.
NOT_VARIABLES = {
    "OPTIONS": "the HTTP method of a CORS preflight",
    "ECONNREFUSED": "Node's error code for a refused connection",
    "PROCESS_FIXTURES": "a constant in api/tests/conftest.py",
}

# Where the project's own non-settings variables live: the stack, its scripts and runners.
VARIABLE_SOURCES = [
    "docker-compose.yml",
    "deploy/*.yml",
    "Makefile",
    "scripts/*",
    "proxy/*",
    "proxy/**/*",
    "bench/*.py",
    "loadtest/*",
    "examples/*.py",
    "examples/**/*.py",
    "examples/**/*.mjs",
    "examples/**/*.ts",
    ".ci/run",
]
# How those files use a variable: $NAME, ${NAME…}, Caddy's {$NAME} and {env.NAME}, an
# assignment (NAME=, NAME ?=, NAME :=), a YAML key or list item, or a quoted name
# (os.environ["NAME"], process.env.NAME).
_USES = [
    re.compile(r"\$\{?([A-Z][A-Z0-9_]*)"),
    re.compile(r"\{env\.([A-Z][A-Z0-9_]*)\}"),
    re.compile(r"(?<![\w-])([A-Z][A-Z0-9_]*)(?:=|\s*[?:]=)"),
    re.compile(r"^\s*-?\s*([A-Z][A-Z0-9_]*)\s*(?::|$)", re.MULTILINE),
    re.compile(r"[\"']([A-Z][A-Z0-9_]+)[\"']"),
    re.compile(r"process\.env\.([A-Z][A-Z0-9_]*)"),
]

_FENCE = re.compile(r"^```.*?^```", re.MULTILINE | re.DOTALL)
_SPAN = re.compile(r"`([^`\n]+)`")
_MAKE = re.compile(r"(?<![\w-])make(?:\s+-C\s+\S+)?\s+([a-z][a-z0-9_-]*)")
_WHOLE_NAME = re.compile(r"[A-Z][A-Z0-9_]*")
_ASSIGNED = re.compile(r"(?<![\w-])([A-Z][A-Z0-9_]*)=")


def code_of(text: str) -> tuple[list[str], list[str]]:
    """The inline code spans and the fenced blocks of a markdown page."""
    blocks = _FENCE.findall(text)
    return _SPAN.findall(_FENCE.sub("", text)), blocks


def make_targets_named(text: str) -> set[str]:
    spans, blocks = code_of(text)
    return {target for code in spans + blocks for target in _MAKE.findall(code)}


def settings_named(text: str) -> set[str]:
    """`NAME` as a whole span, and every NAME= assignment in spans and code blocks."""
    spans, blocks = code_of(text)
    names = {span for span in spans if _WHOLE_NAME.fullmatch(span) and len(span) > 1}
    names -= set(NOT_VARIABLES)
    names |= {name for code in spans + blocks for name in _ASSIGNED.findall(code)}
    return names


def makefile_targets() -> set[str]:
    text = (REPO_ROOT / "Makefile").read_text()
    return set(re.findall(r"^([a-zA-Z0-9_-]+):(?!=)", text, re.MULTILINE))


def dotenv_names() -> set[str]:
    """Every name in `.env`, commented-out ones included (they document the name)."""
    text = (REPO_ROOT / ".env").read_text()
    return set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", text, re.MULTILINE))


def _name_of(base: ast.expr) -> str:
    """`BackendSettings` for `BackendSettings` and `backends.BackendSettings` alike."""
    if isinstance(base, ast.Attribute):
        return base.attr
    return base.id if isinstance(base, ast.Name) else ""


def settings_fields() -> set[str]:
    """The environment variable of every field of the server's `Settings` and of each
    backend's settings class (field `n_ctx` reads `N_CTX`), the examples' own included:
    classes that derive, directly or not, from `EnvSettings`."""
    classes: dict[str, tuple[set[str], set[str]]] = {}
    for root in (REPO_ROOT / "api/src/llm_gateway", REPO_ROOT / "examples"):
        for path in root.rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ClassDef):
                    bases = {_name_of(base) for base in node.bases}
                    fields = {
                        item.target.id
                        for item in node.body
                        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                    }
                    classes[node.name] = (bases, fields)

    def is_settings(name: str, seen: frozenset[str] = frozenset()) -> bool:
        if name == "EnvSettings":
            return True
        if name not in classes or name in seen:
            return False
        return any(is_settings(base, seen | {name}) for base in classes[name][0])

    names = {
        field.upper()
        for name, (_, fields) in classes.items()
        if is_settings(name)
        for field in fields
        if field != "model_config"
    }
    assert {"N_CTX", "MODEL_BACKEND", "UPSTREAM_BASE_URL", "MOCK_TTFT_MS"} <= names
    return names


def stack_variables() -> set[str]:
    names: set[str] = set()
    for pattern in VARIABLE_SOURCES:
        for path in REPO_ROOT.glob(pattern):
            if path.is_file() and "node_modules" not in path.parts:
                text = path.read_text(errors="replace")
                for use in _USES:
                    names |= set(use.findall(text))
    return names


def known_names() -> set[str]:
    return dotenv_names() | settings_fields() | stack_variables() | set(ALLOWED)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_make_target_named_exists(page: Path) -> None:
    unknown = make_targets_named(page.read_text()) - makefile_targets()
    assert not unknown, f"{page.name} names `make` targets the Makefile lacks: {sorted(unknown)}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(REPO_ROOT)))
def test_every_setting_named_exists(page: Path) -> None:
    unknown = settings_named(page.read_text()) - known_names()
    assert not unknown, (
        f"{page.name} names variables that are neither in .env, nor settings fields, nor the "
        f"stack's own (a typo, a renamed setting, or a third-party name for ALLOWED): "
        f"{sorted(unknown)}"
    )


def test_the_checks_catch_what_they_are_for() -> None:
    page = "Run `make nonsense`, or `NOT_A_SETTING=1 make up`, with `N_CTX` set."
    assert make_targets_named(page) - makefile_targets() == {"nonsense"}
    assert settings_named(page) - known_names() == {"NOT_A_SETTING"}


def test_the_readme_shows_the_two_commands_on_its_first_screen() -> None:
    first_screen = "\n".join(README.read_text().splitlines()[:60])
    assert "make up" in first_screen
    assert "make test" in first_screen


def _slug(heading: str) -> str:
    """A heading's anchor as MkDocs' `toc` extension makes it."""
    text = re.sub(r"<[^>]+>|`", "", heading)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


def test_the_readme_links_to_docs_pages_and_anchors_that_exist() -> None:
    """`make docs` checks the links between pages; the README is outside the site."""
    links = re.findall(r"\]\((docs/[^)#]+)(?:#([^)]+))?\)", README.read_text())
    assert links
    for target, anchor in links:
        page = REPO_ROOT / target
        assert page.is_file(), f"README links to {target}, which does not exist"
        if anchor:
            headings = re.findall(r"^#+ (.+)$", _FENCE.sub("", page.read_text()), re.MULTILINE)
            assert anchor in {_slug(h) for h in headings}, f"{target} has no #{anchor}"


def test_every_test_the_fault_matrix_names_exists() -> None:
    """docs/reliability-and-security.md's fault matrix: each row's tests are real tests (a
    `::name` alone is in the file named before it on that row)."""
    page = (REPO_ROOT / "docs/reliability-and-security.md").read_text()
    section = page.split("### Fault matrix", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "`" in line]
    assert len(rows) >= 20
    missing = []
    for row in rows:
        test_cell = row.rstrip(" |").rsplit(" | ", 1)[1]
        current: Path | None = None
        for ref in re.findall(r"`([^`]+)`", test_cell):
            path, _, name = ref.partition("::")
            if path:
                current = REPO_ROOT / "api/tests" / path
                if not current.is_file():
                    missing.append(ref)
                    continue
            assert current is not None, row
            if name and not re.search(rf"^(async )?def {name}\(", current.read_text(), re.M):
                missing.append(f"{current.name}::{name}")
    assert not missing, f"the fault matrix names tests that do not exist: {missing}"
