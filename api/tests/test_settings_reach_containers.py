"""Every setting documented in `.env` reaches the process that reads it, with the shell's value
winning over `.env`, natively, in the Compose stack and in the Swarm stack (rendered from the
same compose file, so its `environment:` stays the one list). (`API_KEYS=sk-... make up` once
started an open stack: the api container read `.env` only.)"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from llm_gateway.backends.loader import BUILT_IN, backend_class
from llm_gateway.config import Settings

from .support.paths import REPO_ROOT

DOTENV = REPO_ROOT / ".env"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
SWARM_FILE = REPO_ROOT / "deploy/swarm.yml"
README = REPO_ROOT / "README.md"
CONFIGURATION_PAGE = REPO_ROOT / "docs/configuration.md"
# The container sets these itself (listen on every address, the model baked into the image,
# the stack's Redis, the stack's network as trusted proxies; CONTAINER_* override the last
# three); their `.env` values are for
# `make serve`.
CONTAINER_FIXED = {"HOST", "PORT", "MODEL_PATH", "RESPONSE_STORE", "TRUSTED_PROXIES"}
# Set for the api by the compose file, read by the server but not a documented setting.
INTERNAL = {"PROMETHEUS_MULTIPROC_DIR"}
# In Swarm, the keys and the metrics token are Docker secrets: these are all the swarm
# override may set for the api (the values themselves never enter the environment).
SWARM_SECRETS = {
    "API_KEYS": "",
    "API_KEYS_FILE": "/run/secrets/api_keys",
    "METRICS_TOKEN": "",
    "METRICS_TOKEN_FILE": "/run/secrets/metrics_token",
}


def dotenv() -> dict[str, str]:
    values: dict[str, str] = {}
    for line in DOTENV.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            name, _, value = line.partition("=")
            values[name.strip()] = value
    return values


def api_setting_names() -> set[str]:
    """The environment variable of every field the server's and the built-in backends'
    settings read."""
    classes = [Settings, *(backend_class(name).settings_class for name in BUILT_IN)]
    return {name.upper() for cls in classes for name in cls.model_fields}


def compose() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(COMPOSE_FILE.read_text())
    return document


def environment(service: str) -> dict[str, str | None]:
    """A service's `environment:` as written: None for a name passed on by name alone."""
    entries = compose()["services"][service].get("environment", [])
    assert isinstance(entries, list), f"{service}: write environment as a list"
    out: dict[str, str | None] = {}
    for entry in entries:
        name, sep, value = str(entry).partition("=")
        out[name] = value if sep else None
    return out


def interpolated() -> set[str]:
    """Names the compose files interpolate (`${NAME}`, `${NAME:-default}`)."""
    text = COMPOSE_FILE.read_text() + SWARM_FILE.read_text()
    return set(re.findall(r"\$\{([A-Z0-9_]+)", text))


class _ComposeLoader(yaml.SafeLoader):
    """Reads Compose's merge tags (`!reset`, `!override`) as plain values."""


for _tag in ("!reset", "!override"):
    _ComposeLoader.add_constructor(
        _tag,
        lambda loader, node: (
            loader.construct_sequence(node)
            if isinstance(node, yaml.SequenceNode)
            else loader.construct_mapping(node)
            if isinstance(node, yaml.MappingNode)
            else loader.construct_scalar(node)
        ),
    )


def swarm_override() -> dict[str, Any]:
    document: dict[str, Any] = yaml.load(SWARM_FILE.read_text(), Loader=_ComposeLoader)
    return document


def test_every_api_setting_is_documented_in_dotenv() -> None:
    missing = api_setting_names() - set(dotenv())
    assert not missing, f"settings the api reads but .env does not document: {sorted(missing)}"


def test_every_dotenv_setting_reaches_the_container_that_reads_it() -> None:
    api = environment("api")
    by_name = {
        name
        for service in compose()["services"]
        for name, value in environment(service).items()
        if value is None
    }
    wrong = []
    for name in dotenv():
        if name in api_setting_names():
            if name in CONTAINER_FIXED:
                ok = api.get(name) is not None
            else:
                # By name only: Compose resolves it from the shell first, then `.env`.
                ok = name in api and api[name] is None
        else:
            ok = name in by_name or name in interpolated()
        if not ok:
            wrong.append(name)
    assert not wrong, f"settings in .env that never reach their container: {wrong}"


def test_the_api_environment_names_only_real_settings() -> None:
    unknown = set(environment("api")) - api_setting_names() - INTERNAL
    assert not unknown, f"not settings of the api (a typo?): {sorted(unknown)}"


def test_the_swarm_override_adds_no_setting_of_its_own() -> None:
    """deploy/swarm.yml only turns the keys and the metrics token into Docker secrets; every
    other setting reaches the swarm's api from docker-compose.yml's list."""
    api = swarm_override()["services"]["api"]
    entries = dict(str(e).partition("=")[::2] for e in api["environment"])
    assert entries == SWARM_SECRETS
    assert set(api["secrets"]) == {"api_keys", "metrics_token"}


@pytest.mark.parametrize(
    ("page", "heading"),
    [(README, "## Configuration"), (CONFIGURATION_PAGE, "# Configuration")],
    ids=["README", "docs/configuration.md"],
)
def test_the_settings_tables_document_only_settings_that_exist(page: Path, heading: str) -> None:
    """The README's table of the most used settings and the docs' table of all of them."""
    text = page.read_text()
    section = text[text.index(heading) :]
    end = section.find("\n## ", 1)
    section = section if end == -1 else section[:end]
    documented = set()
    for row in section.splitlines():
        if row.startswith("| `"):
            documented |= set(re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1]))
    assert documented
    assert documented <= set(dotenv()), sorted(documented - set(dotenv()))


def rendered(command: list[str], env: dict[str, str]) -> dict[str, Any]:
    """The JSON a command prints, run in the repository with `env` as the whole shell
    environment (plus PATH and HOME): what Compose or the Swarm script make of the files."""
    base = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME"}}
    result = subprocess.run(
        command,
        cwd=REPO_ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    document: dict[str, Any] = json.loads(result.stdout)
    return document


def _config(env: dict[str, str]) -> dict[str, Any]:
    return rendered(["docker", "compose", "--profile", "*", "config", "--format", "json"], env)


@pytest.fixture(scope="module")
def compose_cli() -> None:
    if shutil.which("docker") is None:
        pytest.skip("no docker CLI: the compose file itself was checked above")
    probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    if probe.returncode != 0:
        pytest.skip("no `docker compose` plugin: the compose file itself was checked above")


@pytest.mark.usefixtures("compose_cli")
def test_compose_gives_the_shell_precedence_over_dotenv() -> None:
    """What Compose really hands each container: the shell's value when there is one, else
    `.env`'s."""
    passed_by_name = {
        service: [n for n, v in environment(service).items() if v is None]
        for service in compose()["services"]
    }
    sentinels = {n: f"from-shell-{n}" for names in passed_by_name.values() for n in names}
    shell = _config(sentinels)["services"]
    plain = _config({})["services"]
    values = dotenv()
    for service, names in passed_by_name.items():
        for name in names:
            assert shell[service]["environment"][name] == sentinels[name], (service, name)
            if name in values:
                assert plain[service]["environment"][name] == values[name], (service, name)
    assert shell["api"]["environment"]["API_KEYS"] == "from-shell-API_KEYS"
    assert shell["proxy"]["environment"]["SITE_ADDRESS"] == "from-shell-SITE_ADDRESS"
    assert shell["api"]["environment"]["SITE_ADDRESS"] == "from-shell-SITE_ADDRESS"


def _swarm_stack(env: dict[str, str]) -> dict[str, Any]:
    """What `make swarm-up` hands `docker stack deploy`."""
    return rendered(
        ["python3", "scripts/swarm_stack.py", "--profile", "monitoring"],
        {"COMPOSE_PROJECT_NAME": "settings-test", **env},
    )


@pytest.mark.usefixtures("compose_cli")
def test_the_swarm_stack_gets_every_setting_and_no_secret_in_its_environment() -> None:
    names = [n for n, v in environment("api").items() if v is None]
    sentinels = {n: f"from-shell-{n}" for n in names}
    shell = _swarm_stack(sentinels)["services"]
    plain = _swarm_stack({})["services"]
    values = dotenv()
    for name in names:
        if name in SWARM_SECRETS:
            # A key from the shell goes into the secret (scripts/swarm-up.sh), never here.
            assert shell["api"]["environment"][name] == SWARM_SECRETS[name], name
        else:
            assert shell["api"]["environment"][name] == sentinels[name], name
            if name in values:
                assert plain["api"]["environment"][name] == values[name], name
    assert "from-shell-API_KEYS" not in json.dumps(shell)
    assert shell["proxy"]["environment"]["API_HOST"] == "tasks.api"
    assert shell["api"]["deploy"]["endpoint_mode"] == "dnsrr"


@pytest.mark.usefixtures("compose_cli")
def test_the_swarm_stack_file_is_accepted_by_docker_stack(tmp_path: Path) -> None:
    """The stack loader is stricter than Compose's (types, no `name`, no `profiles`)."""
    stack = tmp_path / "stack.json"
    stack.write_text(json.dumps(_swarm_stack({})))
    result = subprocess.run(
        ["docker", "stack", "config", "-c", str(stack)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if "is not a docker command" in result.stderr:
        pytest.skip("this docker CLI has no `stack` command")
    assert result.returncode == 0, result.stderr
    assert "tasks.api" in result.stdout


def test_native_settings_give_the_shell_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    """`make serve` reads `.env` itself: every `.env` value can be beaten from the shell."""
    monkeypatch.setenv("API_KEYS", "sk-from-shell")
    monkeypatch.setenv("SITE_ADDRESS", "api.example.com")
    s = Settings(_env_file=DOTENV)  # type: ignore[call-arg]
    assert s.api_keys == ["sk-from-shell"]
    assert s.site_address == "api.example.com"


def test_an_empty_value_means_the_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text("MAX_N=\nMAX_QUEUE=7\n")
    monkeypatch.setenv("MAX_QUEUE", "")
    s = Settings(_env_file=env_file)  # type: ignore[call-arg]
    assert s.max_n == Settings.model_fields["max_n"].default
    assert s.max_queue == 7
