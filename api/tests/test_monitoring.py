"""Dashboards and alerts as code: the Prometheus rules pass `promtool check rules` and their
unit tests, the monitoring profile's Prometheus (Compose and Swarm) loads them, the dashboard
JSON is what monitoring/dashboard.py generates, and every metric the rules and the dashboard
query is one the api exposes (a renamed metric would otherwise leave an empty panel or an
alert that can never fire)."""

from __future__ import annotations

import importlib.util
import json
import re
import subprocess
from types import ModuleType

import pytest
import yaml
from prometheus_client.metrics_core import Metric

from llm_gateway.observability.metrics import Metrics

from .support.paths import REPO_ROOT
from .support.processes import require_binary

MONITORING = REPO_ROOT / "monitoring"
RULES = MONITORING / "rules" / "llm-gateway.rules.yml"
RULE_TESTS = MONITORING / "rules" / "llm-gateway.test.yml"
DASHBOARD = MONITORING / "grafana" / "llm-gateway.json"
RULES_IN_CONTAINER = "/etc/prometheus/rules/llm-gateway.rules.yml"
# Prometheus's own series, not the api's.
PROMETHEUS_OWN = {"up"}


def promtool() -> str:
    return require_binary("promtool", "prometheus", "REQUIRE_PROMTOOL")


@pytest.mark.parametrize("command", [["check", "rules", RULES], ["test", "rules", RULE_TESTS]])
def test_the_rules_pass_promtool(command: list[object]) -> None:
    # From the rules' folder: the test file names the rules file relative to it.
    done = subprocess.run(
        [promtool(), *map(str, command)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=RULES.parent,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_every_alert_has_a_unit_test() -> None:
    alerts = {
        rule["alert"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = {
        case["alertname"]
        for test in yaml.safe_load(RULE_TESTS.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case["exp_alerts"]
    }
    assert alerts == tested


def test_the_monitoring_profile_loads_the_rules() -> None:
    for config in ("prometheus.yml", "prometheus-swarm.yml"):
        loaded = yaml.safe_load((MONITORING / config).read_text())
        assert loaded["rule_files"] == [RULES_IN_CONTAINER], config
    compose = yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())
    mounts = compose["services"]["prometheus"]["volumes"]
    assert f"./monitoring/rules/llm-gateway.rules.yml:{RULES_IN_CONTAINER}:ro" in mounts
    swarm = (REPO_ROOT / "deploy" / "swarm.yml").read_text()
    assert RULES_IN_CONTAINER in swarm and "file: ./monitoring/rules/llm-gateway.rules.yml" in swarm


def dashboard_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("dashboard", MONITORING / "dashboard.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_dashboard_json_is_generated_and_current() -> None:
    assert DASHBOARD.read_text() == dashboard_module().render(), "run `make dashboard`"


def dashboard_queries() -> list[str]:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    return [t["expr"] for p in panels for t in p.get("targets", [])]


def rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


def exposed_families() -> set[str]:
    families: list[Metric] = list(Metrics(version="t").registry.collect())
    return {family.name for family in families}


def test_every_metric_queried_is_one_the_api_exposes() -> None:
    exposed = exposed_families()
    recorded = {
        rule["record"]
        for group in yaml.safe_load(RULES.read_text())["groups"]
        for rule in group["rules"]
        if "record" in rule
    }
    expressions = dashboard_queries() + rule_expressions()
    assert len(expressions) > 20
    unknown: set[str] = set()
    for expr in expressions:
        for name in re.findall(r"\b(llm_gateway[a-z_:0-9]*|up)\b", expr):
            if name in PROMETHEUS_OWN or name in recorded:
                continue
            family = re.sub(r"_(bucket|sum|count)$", "", name)
            family = re.sub(r"_total$", "", family)
            if family not in exposed:
                unknown.add(name)
    assert not unknown, f"queried but not exposed by the api: {sorted(unknown)}"
    assert {"llm_gateway:key_token_quota_used:ratio"} <= recorded


def test_the_dashboard_covers_every_row_the_issue_asks_for() -> None:
    panels = json.loads(DASHBOARD.read_text())["panels"]
    rows = [p["title"] for p in panels if p["type"] == "row"]
    for wanted in ("Latency", "Tokens", "Requests and errors", "overhead", "Per-key", "Upstreams"):
        assert any(wanted in row for row in rows), wanted
