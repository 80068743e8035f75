"""Coding-agent CLIs against a real gunicorn server: Claude Code (`claude -p`, the Anthropic
Messages API, `POST /v1/messages`) and Codex (`codex exec`, the Responses API,
`POST /v1/responses`), each answering a prompt and running one tool round trip.

The model is scripted (agent_backend.py): asked to read a file, it calls the agent's own
file-reading tool, then repeats what the tool returned, so the answer printed proves the CLI
ran the tool and sent its result back in the next request. Each CLI runs in a temporary HOME
(no user configuration is read or written) with a bounded timeout and no retries.

`make agents-install` installs the pinned CLIs (api/tests/agents/package.json); without them
the tests are skipped, unless REQUIRE_AGENTS=1 (CI) fails them. What each CLI sends and needs:
docs/coding-agents.md.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ..support.paths import REPO_ROOT
from ..support.server import ServerProcess, running_server
from .agent_backend import GREETING, TOOL_SAID

pytestmark = [pytest.mark.agents, pytest.mark.server]

AGENTS_DIR = REPO_ROOT / "api/tests/agents"
BIN = AGENTS_DIR / "node_modules/.bin"
API_KEY = "sk-agents-test"
MODEL = "mock-model"
# Seconds one CLI run may take: both answer in about one second here; the bound only keeps
# a CLI that waits for input, or retries, from hanging the suite.
RUN_TIMEOUT = 120
SECRET = "gateway-note-4711"


@dataclass(frozen=True, slots=True)
class AgentRun:
    returncode: int
    stdout: str
    stderr: str

    def explain(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


def require_clis() -> None:
    problem = None
    if shutil.which("node") is None or shutil.which("npm") is None:
        problem = "node and npm are not installed (Node.js 20+)"
    elif not (AGENTS_DIR / "node_modules/.package-lock.json").is_file():
        problem = "api/tests/agents has no node_modules: run `make agents-install`"
    if problem is None:
        return
    if os.environ.get("REQUIRE_AGENTS") == "1":
        pytest.fail(f"{problem}; REQUIRE_AGENTS=1 makes the agent tests required", pytrace=False)
    pytest.skip(problem)


def scripted_env(**extra: str) -> dict[str, str]:
    return {
        "MODEL_BACKEND": "tests.agents.agent_backend:ToolThenText",
        # This checkout's package first (the venv's may be another worktree's), and tests/.
        "PYTHONPATH": os.pathsep.join([str(REPO_ROOT / "api/src"), str(REPO_ROOT / "api")]),
        "MODEL_ID": MODEL,
        # Claude Code asks for max_tokens 32000 on top of ~12k tokens of instructions.
        "MOCK_N_CTX": "1000000",
        **extra,
    }


@pytest.fixture(scope="module", params=["direct", "passthrough"])
def server(request: pytest.FixtureRequest) -> Iterator[ServerProcess]:
    """The scripted model served directly, or by a second gateway behind this one's
    pass-through (`MODEL_BACKEND=openai`): the agent's Anthropic or Responses requests then
    reach the model as chat completions, and its calls come back the same way."""
    require_clis()
    if request.param == "direct":
        with running_server(**scripted_env(API_KEYS=API_KEY)) as s:
            yield s
        return
    with (
        running_server(**scripted_env()) as model,
        running_server(
            MODEL_BACKEND="openai",
            UPSTREAM_BASE_URL=model.base_url + "/v1",
            MODEL_ID=MODEL,
            API_KEYS=API_KEY,
        ) as gateway,
    ):
        yield gateway


class Agents:
    """Runs each CLI as a user would, against `server`, from a fresh HOME and working
    directory under `root`; the environment holds nothing of the developer's."""

    def __init__(self, server: ServerProcess, root: Path) -> None:
        self.server = server
        self.home = root / "home"
        self.workdir = root / "work"
        self.home.mkdir()
        self.workdir.mkdir()

    def _env(self, **extra: str) -> dict[str, str]:
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),  # node, for the codex launcher
            "HOME": str(self.home),
            "LANG": "C.UTF-8",
            "NO_COLOR": "1",
            **extra,
        }

    def _run(self, argv: list[str], env: dict[str, str]) -> AgentRun:
        try:
            done = subprocess.run(
                argv,
                cwd=self.workdir,
                env=env,
                stdin=subprocess.DEVNULL,  # codex exec reads a prompt from a stdin that is open
                capture_output=True,
                text=True,
                timeout=RUN_TIMEOUT,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            pytest.fail(
                f"{argv[0]} ran over {RUN_TIMEOUT}s\n{exc.stdout!r}\n{exc.stderr!r}\n"
                f"{self.server.logs()[-4000:]}"
            )
        return AgentRun(done.returncode, done.stdout, done.stderr)

    def claude(self, prompt: str) -> AgentRun:
        """`claude -p`: Bearer key (ANTHROPIC_AUTH_TOKEN), no background traffic, one try."""
        env = self._env(
            ANTHROPIC_BASE_URL=self.server.base_url,
            ANTHROPIC_AUTH_TOKEN=API_KEY,
            ANTHROPIC_MODEL=MODEL,
            CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1",
            CLAUDE_CODE_MAX_RETRIES="0",
            CLAUDE_CODE_MAX_CONTEXT_TOKENS="1000000",
        )
        return self._run([str(BIN / "claude"), "-p", prompt], env)

    def codex(self, prompt: str) -> AgentRun:
        """`codex exec` with this server as a custom Responses provider, no retries; the
        sandbox is off (the scripted model only runs `cat`, and bubblewrap may be missing)."""
        codex_home = self.home / ".codex"
        codex_home.mkdir(exist_ok=True)
        (codex_home / "config.toml").write_text(
            f'model = "{MODEL}"\n'
            'model_provider = "gateway"\n\n'
            "[model_providers.gateway]\n"
            'name = "llm-gateway"\n'
            f'base_url = "{self.server.base_url}/v1"\n'
            'env_key = "GATEWAY_API_KEY"\n'
            'wire_api = "responses"\n'
            "request_max_retries = 0\n"
            "stream_max_retries = 0\n"
        )
        env = self._env(CODEX_HOME=str(codex_home), GATEWAY_API_KEY=API_KEY)
        argv = [str(BIN / "codex"), "exec", "--skip-git-repo-check"]
        argv += ["--dangerously-bypass-approvals-and-sandbox", prompt]
        return self._run(argv, env)

    def note(self) -> Path:
        path = self.workdir / "note.txt"
        path.write_text(f"{SECRET}\n")
        return path


@pytest.fixture
def agents(server: ServerProcess, tmp_path: Path) -> Agents:
    return Agents(server, tmp_path)


def assert_answered(run: AgentRun, text: str) -> None:
    assert run.returncode == 0, run.explain()
    assert text in run.stdout, run.explain()


def test_claude_code_answers(agents: Agents) -> None:
    assert_answered(agents.claude("say hi"), GREETING)


def test_codex_answers(agents: Agents) -> None:
    assert_answered(agents.codex("say hi"), GREETING)


def test_claude_code_reads_a_file_with_its_tool_and_sends_the_result_back(
    agents: Agents,
) -> None:
    run = agents.claude(f"Read the file {agents.note()} and tell me what it says.")
    assert_answered(run, TOOL_SAID)
    assert SECRET in run.stdout, run.explain()


def test_codex_reads_a_file_with_its_tool_and_sends_the_result_back(agents: Agents) -> None:
    run = agents.codex(f"Read the file {agents.note()} and tell me what it says.")
    assert_answered(run, TOOL_SAID)
    assert SECRET in run.stdout, run.explain()


def test_codex_calls_a_namespaced_tool_by_its_namespace_and_member_name(agents: Agents) -> None:
    """The model knows `multi_agent_v1__close_agent` (a member of Codex's `namespace` tool,
    flattened); Codex runs the call only when the item says `namespace: multi_agent_v1`,
    `name: close_agent` ("unsupported call" otherwise). Closing an agent that does not exist
    fails inside the tool, which is as far as this test needs the call to get."""
    run = agents.codex('Call the tool multi_agent_v1__close_agent with {"target": "nope"}')
    assert_answered(run, TOOL_SAID)
    assert "unsupported call" not in run.stdout, run.explain()
    assert "invalid agent id" in run.stdout, run.explain()
