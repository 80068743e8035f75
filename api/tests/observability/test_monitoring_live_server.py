"""The dashboard's and the rules' PromQL against a live Prometheus (Debian's `prometheus`
binary, the version `promtool` comes with) scraping a real gateway: every expression returns
data once the gateway has served some load (keys with a quota, a pass-through backend with one
upstream down), and the rules' alerts are evaluated there."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from ..support.polling import poll_until
from ..support.processes import free_port, require_binary
from ..support.reliability import CHAT, CLOSE, TIMEOUT, chat_body
from ..support.server import ServerProcess, running_server
from ..test_monitoring import DASHBOARD, RULES

pytestmark = pytest.mark.server

KEYS = "alice:sk-alice:tpd=60,bob:sk-bob"


class Prometheus:
    """A Prometheus scraping `target` every second and evaluating the rules every second."""

    def __init__(self, target: str) -> None:
        binary = require_binary("prometheus", "prometheus", "REQUIRE_PROMTOOL")
        self.dir = Path(tempfile.mkdtemp(prefix="prometheus-test-"))
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": [str(RULES)],
            "scrape_configs": [
                {"job_name": "llm-gateway-api", "static_configs": [{"targets": [target]}]}
            ],
        }
        (self.dir / "prometheus.yml").write_text(yaml.safe_dump(config))
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [
                binary,
                f"--config.file={self.dir / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=(self.dir / "log").open("wb"),
        )
        poll_until(self.ready, 30, 0.2, what="prometheus to be ready", retry_on=(httpx.HTTPError,))

    def ready(self) -> bool:
        return httpx.get(self.url + "/-/ready", timeout=5).status_code == 200

    def query(self, expr: str) -> list[Any]:
        r = httpx.get(self.url + "/api/v1/query", params={"query": expr}, timeout=10)
        assert r.status_code == 200, (expr, r.text)
        result: list[Any] = r.json()["data"]["result"]
        return result

    def alerts(self) -> list[dict[str, Any]]:
        r = httpx.get(self.url + "/api/v1/alerts", timeout=10)
        alerts: list[dict[str, Any]] = r.json()["data"]["alerts"]
        return alerts

    def close(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="module")
def gateway() -> Iterator[ServerProcess]:
    """A pass-through gateway (2 workers, keys) in front of a mock one, with a second
    upstream that refuses connections (so the upstream series have failures too)."""
    with running_server() as upstream:
        refused = f"http://127.0.0.1:{free_port()}"
        env = {
            "WORKERS": "2",
            "API_KEYS": KEYS,
            "MODEL_BACKEND": "openai",
            "UPSTREAM_BASE_URL": f"{refused}/v1,{upstream.base_url}/v1",
        }
        with running_server(**env) as front:
            yield front


def load(server: ServerProcess) -> None:
    """Both keys, streamed and not, until alice's budget is spent."""
    for i in range(30):
        for key in ("sk-alice", "sk-bob"):
            httpx.post(
                server.base_url + CHAT,
                json=chat_body(stream=bool(i % 2), max_tokens=3),
                headers={"authorization": f"Bearer {key}", **CLOSE},
                timeout=TIMEOUT,
            )


def expressions() -> list[str]:
    """Every PromQL expression of the dashboard, and of the rules (an alert's without its
    threshold: the condition need not hold, its series must exist)."""
    panels = json.loads(DASHBOARD.read_text())["panels"]
    found = [
        t["expr"].replace("$__rate_interval", "1m") for p in panels for t in p.get("targets", [])
    ]
    for group in yaml.safe_load(RULES.read_text())["groups"]:
        for rule in group["rules"]:
            expr = rule["expr"].strip()
            if expr.startswith("absent("):
                continue  # data only when every replica is gone
            found.append(re.sub(r"\s*(>|==)\s*[0-9.]+$", "", expr) if "alert" in rule else expr)
    return found


def test_every_dashboard_and_rule_expression_returns_data(gateway: ServerProcess) -> None:
    prometheus = Prometheus(gateway.base_url.removeprefix("http://"))
    try:
        # Scraped before the load, so that the counters' rise is seen (an increase needs it).
        poll_until(
            lambda: prometheus.query('up{job="llm-gateway-api"} == 1'), 30, 0.5, what="a scrape"
        )
        load(gateway)
        missing: list[str] = []

        def all_answer() -> bool:
            missing[:] = [e for e in expressions() if not prometheus.query(e)]
            return not missing

        try:
            poll_until(all_answer, 60, 1.0, what="every expression to return data")
        except AssertionError:
            raise AssertionError(f"no data for: {missing}") from None
        # Her budget is spent: the recorded share reaches 1 within a few evaluations.
        quota_used = poll_until(
            lambda: prometheus.query("llm_gateway:key_token_quota_used:ratio"),
            30,
            1.0,
            until=lambda result: bool(result) and float(result[0]["value"][1]) >= 1.0,
            what="alice's share of her budget to be recorded",
        )
        assert {r["metric"]["key"] for r in quota_used} == {"alice"}
    finally:
        prometheus.close()


def test_a_stopped_replica_fires_its_alert() -> None:
    """LLMGatewayReplicaDown waits one minute (`for: 1m`) before firing: this test does too."""
    server = ServerProcess({})
    prometheus = Prometheus(server.base_url.removeprefix("http://"))
    try:
        poll_until(
            lambda: prometheus.query('up{job="llm-gateway-api"} == 1'), 30, 0.5, what="a scrape"
        )
        server.stop()

        def replica_down() -> list[dict[str, Any]]:
            return [
                a
                for a in prometheus.alerts()
                if a["labels"]["alertname"] == "LLMGatewayReplicaDown"
            ]

        pending = poll_until(replica_down, 30, 0.5, what="the alert to be pending")
        assert pending[0]["state"] == "pending"
        firing = poll_until(
            replica_down,
            120,
            1.0,
            until=lambda alerts: bool(alerts) and alerts[0]["state"] == "firing",
            what="the alert to fire",
        )
        assert firing[0]["labels"]["instance"] == server.base_url.removeprefix("http://")
        assert firing[0]["labels"]["severity"] == "critical"
    finally:
        server.stop()
        prometheus.close()
