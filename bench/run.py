"""`make bench`: the gateway against its baselines, measured on loopback.

- model path: streaming TTFT / TPOT / ITL / E2E and aggregate tokens/s at 1, 2, 4, 8, 16
  concurrent streams through the HTTP API of a real gunicorn server (the default layout from
  `.env`, and the layout before continuous batching), against llama-cpp-python in process
  (same threads), `python -m llama_cpp.server`, and llama.cpp's `llama-server` (LLAMA_SERVER);
  one pass per server and level;
- verdict: the default gateway and `llama-server` both up at once (the idle one costs no CPU),
  measured in turns at 4 and 8 streams for BENCH_ROUNDS rounds, who goes first alternating;
  the targets against llama-server (and the gateway's own at those levels) are judged on the
  median over the rounds, with its min-max (one run on a shared machine swings ±20 %);
- gateway overhead: the mock backend (no delays; its chat and its Messages route) against a
  bare ASGI app on the same worker class returning the same bytes, in BENCH_ROUNDS rounds in
  rotating order (each server started once): requests/s and latency, SSE chunks/s, worker CPU
  per request and per chunk, each the median over the rounds;
- memory: RSS of each worker of the default layout, idle and under load;
- embeddings: one request of 64 and of 256 short inputs, inputs/s, for the gateway (default
  layout) and llama-server with `--embeddings` (LLAMA_SERVER), both up and measured in turns
  for BENCH_ROUNDS rounds, and the path before batching (llama-cpp-python's `Llama.embed`
  once per input, in process);
- conversations: concurrent multi-turn conversations (fewer and more than the slots), chat
  with the whole history and the Responses API with `previous_response_id`, against the
  default layout and llama-server with the same slots (bench/conversation_section.py).

Writes bench/results/<timestamp>.md and .json. Environment (or flags):
  LLAMA_SERVER=/path/to/llama-server     add llama.cpp's server (and the verdict rounds)
  BENCH_LAYOUTS=2x1x4,1x2x8              more gateway layouts, WORKERSxN_THREADSxN_PARALLEL
  BENCH_LEVELS=1,2,4,8,16                concurrent streams of the single-pass tables
  BENCH_MAX_TOKENS=128                   tokens per stream
  BENCH_SECTIONS=model,verdict,overhead,memory,embeddings,conversations
  BENCH_ROUNDS=3                         interleaved rounds (verdict, overhead, embeddings)
  BENCH_VERDICT_LEVELS=4,8               concurrent streams of the verdict rounds
  BENCH_OVERHEAD_SECONDS=4               seconds per overhead run (12 runs a round)
  BENCH_BASELINES=before,llama_cpp.server,llama-server   which baselines to run
  BENCH_GATEWAY_ENV=N_BATCH=128,...      more settings for the gateway's llama servers
  BENCH_BUDGET=1800                      seconds; sections and rounds left when it runs out
                                         are skipped
  BENCH_CONVERSATIONS=4,12               concurrent conversations (conversations section)
  BENCH_TURNS=6                          turns per conversation
  BENCH_CONVERSATION_ROUNDS=2            rounds of (gateway, llama-server), each server
                                         started afresh, other texts each round
  BENCH_QUIET_WAIT=0                     seconds to wait for the 1-minute load to drop below
                                         BENCH_QUIET_LOAD (0.5) before starting
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import conversation_section
import report
import rounds
import servers
from probes import (
    eog_tokens,
    llama_server_version,
    machine,
    other_cpu,
    post,
    sampling_rss,
    wait_quiet,
)
from stats import summarize_requests, summarize_streams
from workload import embedding_inputs, stream_body

ROOT = servers.ROOT
RESULTS = ROOT / "bench" / "results"
DEFAULT_MODEL = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
# What the gateway ran before continuous batching: one worker, two threads, one sequence.
BEFORE = "1x2x1"
EMBEDDING_COUNTS = (64, 256)
EMBEDDING_REPEATS = 3
EMBEDDING_WINDOW = 512  # EMBEDDING_N_CTX's default: the longest input, in tokens
# llama-server's slots for the embeddings row: each input is a task, one slot each.
EMBEDDING_SLOTS = 16


@dataclass(frozen=True)
class Layout:
    workers: int
    threads: int
    parallel: int

    @classmethod
    def parse(cls, text: str) -> Layout:
        w, t, p = (int(x) for x in text.lower().split("x"))
        return cls(w, t, p)

    def __str__(self) -> str:
        return f"{self.workers}x{self.threads}x{self.parallel}"

    def describe(self) -> str:
        return (
            f"{self.workers} worker{'s' * (self.workers > 1)} x {self.threads} "
            f"thread{'s' * (self.threads > 1)} x N_PARALLEL {self.parallel}"
        )


def dotenv(name: str, default: str) -> str:
    """A setting as `make serve` would see it: the shell, then .env."""
    if os.environ.get(name):
        return os.environ[name]
    for line in (ROOT / ".env").read_text().splitlines():
        key, sep, value = line.partition("=")
        if sep and key.strip() == name and value.strip():
            return value.strip()
    return default


def requests_per_user(concurrency: int) -> int:
    """Requests each stream sends back to back at a level: about the same tokens per level."""
    return 4 if concurrency == 1 else 3 if concurrency == 2 else 2


def other_pct(cpu: dict[str, float], loadgen_s: float) -> float:
    """The share of the machine (all cores) that neither the watched servers nor the load
    generator used while `cpu` was measured: above a few % someone else was busy."""
    return max(0.0, 100 * (cpu["busy"] - cpu["ours"] - loadgen_s) / cpu["total"])


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.deadline = time.monotonic() + args.budget
        self.stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
        self.logs = Path(tempfile.mkdtemp(prefix=f"llm-gateway-bench-{self.stamp}-"))
        self.model = str(Path(dotenv("MODEL_PATH", str(DEFAULT_MODEL))).resolve())
        self.n_ctx = int(dotenv("N_CTX", "2048"))
        self.n_batch = int(dotenv("N_BATCH", "256"))
        self.default = Layout(
            int(dotenv("WORKERS", "1")),
            int(dotenv("N_THREADS", str(os.cpu_count() or 1))),
            int(dotenv("N_PARALLEL", "4")),
        )
        self.results: dict[str, Any] = {
            "started": datetime.now().isoformat(timespec="seconds"),
            "command": " ".join(sys.argv),
            "machine": machine(),
            "settings": {
                "model": self.model,
                "max_tokens": args.max_tokens,
                "levels": args.levels,
                "rounds": args.rounds,
                "verdict_levels": args.verdict_levels,
                "overhead_seconds": args.overhead_seconds,
                "n_ctx": self.n_ctx,
                "n_batch": self.n_batch,
                "default_layout": str(self.default),
                "layouts": args.layouts,
                "gateway_env": args.gateway_env,
            },
            "load": [],
            "skipped": [],
        }

    # --- helpers ----------------------------------------------------------------------------

    def note_load(self, what: str) -> None:
        self.results["load"].append({"at": what, "loadavg": list(os.getloadavg())})

    def time_left(self, what: str) -> bool:
        if time.monotonic() < self.deadline:
            return True
        self.results["skipped"].append(f"{what}: the time budget ran out")
        print(f"bench: skipping {what} (time budget)", file=sys.stderr)
        return False

    def loadgen(self, spec: dict[str, Any], timeout: float = 600) -> dict[str, Any]:
        out = subprocess.run(
            [
                str(servers.BENCH_VENV / "python"),
                str(ROOT / "bench" / "loadgen.py"),
                json.dumps(spec),
            ],
            capture_output=True,
            timeout=timeout,
            check=True,
        )
        result: dict[str, Any] = json.loads(out.stdout)
        return result

    def streams(self, server: servers.Server, concurrency: int, rounds: int) -> dict[str, Any]:
        raw = self.loadgen(
            {
                "kind": "streams",
                "url": server.url + "/v1/chat/completions",
                "model": server.model,
                "concurrency": concurrency,
                "requests_per_user": rounds,
                "max_tokens": self.args.max_tokens,
                "ban_tokens": self.eog,
                "offset": 1000 * concurrency,
            }
        )
        return summarize_streams(raw)

    # --- the model path ---------------------------------------------------------------------

    def inprocess(self, threads: int) -> dict[str, Any]:
        out = subprocess.run(
            [
                str(servers.BENCH_VENV / "python"),
                str(ROOT / "bench" / "inprocess.py"),
                self.model,
                str(threads),
                str(self.args.max_tokens),
                "3",
                ",".join(map(str, self.eog)),
            ],
            capture_output=True,
            timeout=600,
            check=True,
            env={**os.environ, "PYTHONPATH": str(ROOT / "bench")},
        )
        result: dict[str, Any] = json.loads(out.stdout)
        speeds = sorted(r["decode_tok_s"] for r in result["runs"])
        result["decode_tok_s"] = speeds[len(speeds) // 2]
        result["ttft_ms"] = 1000 * sorted(r["ttft"] for r in result["runs"])[len(speeds) // 2]
        return result

    def warm(self, server: servers.Server) -> None:
        """Two short requests first: the first request of a server pays for loading."""
        warm = stream_body({"model": server.model, "max_tokens": 16}, 0)
        warm["stream"] = False
        warm.pop("stream_options")
        for _ in range(2):
            post(server.url + "/v1/chat/completions", warm)

    def run_levels(self, server: servers.Server, *, sample_memory: bool = False) -> dict[str, Any]:
        self.warm(server)
        levels: dict[str, Any] = {}
        memory: dict[str, Any] = {}
        if sample_memory:
            memory["idle_mb"] = {str(p): servers.rss_mb(p) for p in server.workers()}
        for concurrency in self.args.levels:
            if not self.time_left(f"{server.name} at {concurrency} streams"):
                break
            self.note_load(f"{server.name} c={concurrency}")
            with sampling_rss(server.workers()) as peaks, other_cpu(server) as cpu:
                level = levels[str(concurrency)] = self.streams(
                    server, concurrency, requests_per_user(concurrency)
                )
            others = cpu["busy"] - cpu["ours"] - level["loadgen_cpu_s"]
            level["other_cpu_pct"] = max(0.0, 100 * others / cpu["total"])
            if sample_memory:
                memory.setdefault("peak_mb", {})[str(concurrency)] = {
                    str(p): mb for p, mb in peaks.items()
                }
            print(
                f"  {server.name}: {concurrency} streams: {report.brief(levels[str(concurrency)])}"
            )
        if sample_memory:
            time.sleep(1.0)
            memory["after_mb"] = {str(p): servers.rss_mb(p) for p in server.workers()}
            memory["master_mb"] = servers.rss_mb(server.proc.pid)
        return {"levels": levels, "memory": memory, "details": server.details}

    def gateway(
        self, layout: Layout, name: str, extra_env: dict[str, str] | None = None
    ) -> servers.Server:
        env = {
            "MODEL_BACKEND": "llama",
            "MODEL_PATH": self.model,
            "N_CTX": str(self.n_ctx),
            "N_BATCH": str(self.n_batch),
            "N_THREADS": str(layout.threads),
            "N_PARALLEL": str(layout.parallel),
            **self.args.gateway_env,
            **(extra_env or {}),
        }
        server = servers.gateway(
            name,
            self.logs,
            workers=layout.workers,
            env=env,
            metrics_dir=self.logs / name,
        )
        server.model = "bench"
        server.details.update(layout=str(layout), description=layout.describe())
        return server

    def model_section(self) -> None:
        section: dict[str, Any] = {"servers": {}, "inprocess": {}}
        self.results["model"] = section
        self.eog = eog_tokens(self.model)
        section["banned_tokens"] = self.eog
        baselines = self.args.baselines
        layouts = [self.default]
        layouts += [Layout.parse(BEFORE)] if "before" in baselines else []
        layouts += [Layout.parse(x) for x in self.args.layouts]
        layouts = list(dict.fromkeys(layouts))
        for threads in sorted({x.threads for x in layouts}):
            self.note_load(f"in-process {threads} threads")
            measured = section["inprocess"][str(threads)] = self.inprocess(threads)
            print(f"  in process, {threads} threads: {measured['decode_tok_s']:.1f} tok/s")
        for layout in layouts:
            tag = (
                "default"
                if layout == self.default
                else "before"
                if str(layout) == BEFORE
                else "layout"
            )
            name = f"gateway {layout}"
            if not self.time_left(name):
                continue
            with servers.running(self.gateway(layout, name)) as server:
                entry = self.run_levels(server, sample_memory=layout == self.default)
                entry["role"] = tag
                section["servers"][name] = entry
        total_threads = self.default.workers * self.default.threads
        if "llama_cpp.server" in baselines and self.time_left("llama_cpp.server"):
            server = servers.llama_cpp_server(
                "llama_cpp.server",
                self.logs,
                model=self.model,
                threads=total_threads,
                n_ctx=self.n_ctx,
            )
            server.model = "bench"
            server.details.update(description=f"{total_threads} threads, one request at a time")
            with servers.running(server):
                entry = self.run_levels(server)
                entry["role"] = "baseline"
                section["servers"]["llama_cpp.server"] = entry
        binary = self.args.llama_server if "llama-server" in baselines else ""
        if binary and self.time_left("llama-server"):
            with servers.running(self.llama_server(binary, "llama-server")) as server:
                entry = self.run_levels(server)
                entry["role"] = "baseline"
                section["servers"]["llama-server"] = entry
        elif not self.args.llama_server:
            self.results["skipped"].append("llama-server: LLAMA_SERVER not given")

    def llama_server(self, binary: str, name: str) -> servers.Server:
        """llama.cpp's server with the default layout's total threads and sequences."""
        threads = self.default.workers * self.default.threads
        parallel = self.default.workers * self.default.parallel
        server = servers.llama_server(
            name,
            self.logs,
            binary=binary,
            model=self.model,
            threads=threads,
            parallel=parallel,
            n_ctx=self.n_ctx,
        )
        server.model = "bench"
        server.details.update(
            description=f"{threads} threads, -np {parallel}, -c {self.n_ctx * parallel}",
            version=llama_server_version(binary),
        )
        return server

    # --- the verdict: interleaved rounds against llama-server ------------------------------

    def verdict_section(self) -> None:
        """The default gateway and llama-server both up (the idle one costs no CPU), measured
        in turns at each of BENCH_VERDICT_LEVELS, BENCH_ROUNDS times; who goes first
        alternates. The targets against llama-server are judged on the median ratio."""
        binary = self.args.llama_server if "llama-server" in self.args.baselines else ""
        if not binary:
            self.results["skipped"].append("verdict: needs llama-server (LLAMA_SERVER)")
            return
        if not self.time_left("verdict rounds"):
            return
        self.eog = eog_tokens(self.model)
        levels: dict[str, Any] = {str(c): {"rounds": []} for c in self.args.verdict_levels}
        section: dict[str, Any] = {"rounds": self.args.rounds, "levels": levels}
        self.results["verdict"] = section
        with contextlib.ExitStack() as stack:
            gateway = stack.enter_context(
                servers.running(self.gateway(self.default, f"gateway {self.default} verdict"))
            )
            rival = stack.enter_context(
                servers.running(self.llama_server(binary, "llama-server verdict"))
            )
            pair = {"gateway": gateway, "llama-server": rival}
            section["servers"] = {name: server.details for name, server in pair.items()}
            for server in pair.values():
                self.warm(server)
            self.verdict_rounds(pair, levels)
        for level in levels.values():
            for key in ("tok_s_ratio", "ttft_p50_ratio"):
                level[key] = rounds.spread([turn[key] for turn in level["rounds"]])

    def verdict_rounds(self, pair: dict[str, servers.Server], levels: dict[str, Any]) -> None:
        """Round after round, each level in turn, until BENCH_ROUNDS or the budget runs out."""
        for index in range(self.args.rounds):
            for concurrency in self.args.verdict_levels:
                what = f"verdict round {index + 1} at {concurrency} streams"
                if not self.time_left(what):
                    return
                self.note_load(what)
                turn = self.verdict_turn(pair, rounds.order(list(pair), index), concurrency)
                levels[str(concurrency)]["rounds"].append(turn)
                print(
                    f"  {what}: tok/s ratio {report.fmt(turn['tok_s_ratio'], 2)}, "
                    f"TTFT p50 ratio {report.fmt(turn['ttft_p50_ratio'], 2)}"
                )

    def verdict_turn(
        self, pair: dict[str, servers.Server], order: list[str], concurrency: int
    ) -> dict[str, Any]:
        """One round at one level: each server in `order`, the same streams as the model rows."""
        turn: dict[str, Any] = {"order": order}
        with other_cpu(*pair.values()) as cpu:
            for name in order:
                turn[name] = self.streams(pair[name], concurrency, requests_per_user(concurrency))
        loadgen = sum(turn[name]["loadgen_cpu_s"] for name in order)
        turn["other_cpu_pct"] = other_pct(cpu, loadgen)
        ours, theirs = turn["gateway"], turn["llama-server"]
        turn["tok_s_ratio"] = rounds.ratio(ours["tok_s"], theirs["tok_s"])
        turn["ttft_p50_ratio"] = rounds.ratio(ours["ttft_ms"]["p50"], theirs["ttft_ms"]["p50"])
        return turn

    def rotating_rounds(
        self,
        turns: list[dict[str, Any]],
        what: str,
        names: list[str],
        turn: Callable[[list[str]], dict[str, Any]],
    ) -> None:
        """BENCH_ROUNDS rounds of `turn(order)`, which measures every one of `names` in that
        order, rotating from round to round; the rounds after the first only while the budget
        lasts. Each round is appended to `turns` as it ends: `{"order": order, **turn(order)}`."""
        for index in range(self.args.rounds):
            label = f"{what} round {index + 1}"
            if index and not self.time_left(label):
                break
            self.note_load(label)
            order = rounds.order(names, index)
            turns.append({"order": order, **turn(order)})

    # --- embeddings -------------------------------------------------------------------------

    def embed_requests(self, server: servers.Server) -> dict[str, Any]:
        """Inputs/s of one request of each size (median of EMBEDDING_REPEATS after a warm-up)."""
        url = server.url + "/v1/embeddings"
        post(url, {"model": server.model, "input": embedding_inputs(8)})
        rows: dict[str, Any] = {}
        for count in EMBEDDING_COUNTS:
            body = {"model": server.model, "input": embedding_inputs(count)}
            self.note_load(f"{server.name} embeddings x{count}")
            speeds, tokens = [], 0
            with other_cpu(server) as cpu:
                for _ in range(EMBEDDING_REPEATS):
                    start = time.perf_counter()
                    answer = json.loads(post(url, body))
                    speeds.append(count / (time.perf_counter() - start))
                    assert len(answer["data"]) == count, answer.get("error")
                    tokens = answer["usage"]["prompt_tokens"]
            others = cpu["busy"] - cpu["ours"]
            rows[str(count)] = {
                "inputs_s": sorted(speeds)[len(speeds) // 2],
                "runs": speeds,
                "prompt_tokens": tokens,
                "other_cpu_pct": max(0.0, 100 * others / cpu["total"]),
            }
            print(f"  {server.name}: {count} inputs: {rows[str(count)]['inputs_s']:.1f} inputs/s")
        return rows

    def embeddings_section(self) -> None:
        section: dict[str, Any] = {}
        self.results["embeddings"] = section
        threads = self.default.workers * self.default.threads
        if self.time_left("embeddings, before batching"):
            out = subprocess.run(
                [
                    str(servers.BENCH_VENV / "python"),
                    str(ROOT / "bench" / "embed_inprocess.py"),
                    self.model,
                    str(threads),
                    str(EMBEDDING_WINDOW),
                    ",".join(map(str, EMBEDDING_COUNTS)),
                    str(EMBEDDING_REPEATS),
                ],
                capture_output=True,
                timeout=1200,
                check=True,
                env={**os.environ, "PYTHONPATH": str(ROOT / "bench")},
            )
            runs: dict[str, list[float]] = json.loads(out.stdout)
            section["one at a time (before)"] = {
                count: {"inputs_s": sorted(speeds)[len(speeds) // 2], "runs": speeds}
                for count, speeds in runs.items()
            }
            print(f"  one at a time, in process: {report.embedding_brief(section)}")
        name = f"gateway {self.default}"
        if not self.time_left(f"embeddings, {name}"):
            return
        binary = self.args.llama_server if "llama-server" in self.args.baselines else ""
        if not self.args.llama_server:
            self.results["skipped"].append("embeddings, llama-server: LLAMA_SERVER not given")
        with contextlib.ExitStack() as stack:
            # Both up at once, measured in turns (the order rotating): one verdict per round.
            runs = {name: stack.enter_context(servers.running(self.gateway(self.default, name)))}
            if binary:
                rival = servers.llama_server(
                    "llama-server --embeddings",
                    self.logs,
                    binary=binary,
                    model=self.model,
                    threads=threads,
                    parallel=EMBEDDING_SLOTS,
                    n_ctx=EMBEDDING_WINDOW,
                    extra=("--embeddings", "--pooling", "mean", "-b", "2048", "-ub", "2048"),
                )
                rival.model = "bench"
                runs["llama-server"] = stack.enter_context(servers.running(rival))
            turns: list[dict[str, Any]] = []
            section["rounds"] = turns
            self.rotating_rounds(
                turns,
                "embeddings",
                list(runs),
                lambda order: {n: self.embed_requests(runs[n]) for n in order},
            )
        for server_name in runs:
            section[server_name] = rounds.median_summary([t[server_name] for t in turns])

    # --- gateway overhead -------------------------------------------------------------------

    def overhead_section(self) -> None:
        """The gateway on the mock backend (its chat and its Messages route) and the bare app,
        each started once and kept up, measured in BENCH_ROUNDS rounds in rotating order; the
        tables show the median of each figure over the rounds."""
        if not self.time_left("gateway overhead"):
            return
        section: dict[str, Any] = {"rounds": []}
        self.results["overhead"] = section
        plain = {
            "model": "bench",
            "messages": [{"role": "user", "content": "Hello!"}],
            "max_tokens": 64,
        }
        stream = {**plain, "max_tokens": 256, "stream": True}
        env = {
            "MODEL_BACKEND": "mock",
            "MOCK_TTFT_MS": "0",
            "MOCK_TOKEN_MS": "0",
            "MOCK_MAX_TOKENS": "256",
        }
        body_file = self.logs / "bare_body.json"
        events_file = self.logs / "bare_events.txt"
        with contextlib.ExitStack() as stack:
            gateway = stack.enter_context(
                servers.running(
                    servers.gateway(
                        "gateway mock",
                        self.logs,
                        workers=1,
                        env=env,
                        metrics_dir=self.logs / "mock",
                    )
                )
            )
            body_file.write_bytes(post(gateway.url + "/v1/chat/completions", plain))
            events_file.write_bytes(post(gateway.url + "/v1/chat/completions", stream))
            bare = stack.enter_context(
                servers.running(
                    servers.bare("bare ASGI", self.logs, body=body_file, events=events_file)
                )
            )
            # The Anthropic Messages route on the same gateway and the same answers: it should
            # cost what chat costs, per request and per event.
            runs = {
                "gateway": (gateway, "/v1/chat/completions"),
                "messages": (gateway, "/v1/messages"),
                "bare": (bare, "/v1/chat/completions"),
            }

            def measure(order: list[str]) -> dict[str, Any]:
                measured: dict[str, Any] = {}
                with other_cpu(gateway, bare) as cpu:
                    for name in order:
                        server, path = runs[name]
                        measured[name] = self.overhead_runs(server, plain, stream, path=path)
                loadgen = sum(r["loadgen_cpu_s"] for m in measured.values() for r in m.values())
                return {**measured, "other_cpu_pct": other_pct(cpu, loadgen)}

            self.rotating_rounds(section["rounds"], "overhead", list(runs), measure)
        section["body_bytes"] = body_file.stat().st_size
        section["stream_events"] = events_file.read_bytes().count(b"data: ")
        for name in runs:
            section[name] = rounds.median_summary([turn[name] for turn in section["rounds"]])

    def overhead_runs(
        self,
        server: servers.Server,
        plain: dict[str, Any],
        stream: dict[str, Any],
        path: str = "/v1/chat/completions",
    ) -> dict[str, Any]:
        """`plain` and `stream` are chat-shaped; the Messages API takes the same fields here."""
        out: dict[str, Any] = {}
        (worker,) = server.workers()
        for kind, body in (("plain", plain), ("stream", stream)):
            for concurrency in (1, 32):
                before = servers.cpu_seconds(worker)
                raw = self.loadgen(
                    {
                        "kind": "requests",
                        "url": server.url + path,
                        "body": body,
                        "concurrency": concurrency,
                        "duration": self.args.overhead_seconds,
                    }
                )
                cpu = servers.cpu_seconds(worker) - before
                summary = summarize_requests(raw)
                # CPU of the worker per request / per SSE event, over the whole run (warm-up
                # requests included in both the CPU time and the counts).
                served = summary["requests"] + concurrency
                summary["worker_cpu_pct"] = 100 * cpu / summary["wall_s"]
                summary["cpu_us_per_request"] = 1e6 * cpu / served if served else None
                if kind == "stream":
                    events = summary["events"] * served / max(1, summary["requests"])
                    summary["cpu_us_per_event"] = 1e6 * cpu / events if events else None
                out[f"{kind} c={concurrency}"] = summary
                print(f"  {server.name} {path} {kind} c={concurrency}: {summary['rps']:.0f} req/s")
        return out

    # --- the run ----------------------------------------------------------------------------

    def run(self) -> None:
        wait_quiet(self.args.quiet_wait, self.args.quiet_load, self.results)
        self.note_load("start")
        sections = self.args.sections
        try:
            if "model" in sections or "memory" in sections:
                print("bench: model path")
                self.model_section()
            if "verdict" in sections:
                print("bench: interleaved rounds against llama-server")
                self.verdict_section()
            if "overhead" in sections:
                print("bench: gateway overhead")
                self.overhead_section()
            if "embeddings" in sections:
                print("bench: embeddings")
                self.embeddings_section()
            if "conversations" in sections:
                print("bench: conversations")
                conversation_section.run(self)
        finally:
            self.note_load("end")
            self.results["finished"] = datetime.now().isoformat(timespec="seconds")
            self.results["logs"] = str(self.logs)
            RESULTS.mkdir(parents=True, exist_ok=True)
            base = RESULTS / self.stamp
            base.with_suffix(".json").write_text(json.dumps(self.results, indent=1))
            base.with_suffix(".md").write_text(report.markdown(self.results))
            print(f"bench: wrote {base}.md and .json (server logs in {self.logs})")


def main() -> None:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--llama-server", default=env("LLAMA_SERVER", ""))
    parser.add_argument("--layouts", default=env("BENCH_LAYOUTS", ""))
    parser.add_argument("--levels", default=env("BENCH_LEVELS", "1,2,4,8,16"))
    parser.add_argument("--max-tokens", type=int, default=int(env("BENCH_MAX_TOKENS", "128")))
    parser.add_argument(
        "--sections",
        default=env("BENCH_SECTIONS", "model,verdict,overhead,memory,embeddings,conversations"),
    )
    parser.add_argument("--rounds", type=int, default=int(env("BENCH_ROUNDS", "3")))
    parser.add_argument("--verdict-levels", default=env("BENCH_VERDICT_LEVELS", "4,8"))
    parser.add_argument(
        "--baselines", default=env("BENCH_BASELINES", "before,llama_cpp.server,llama-server")
    )
    parser.add_argument("--gateway-env", default=env("BENCH_GATEWAY_ENV", ""))
    parser.add_argument("--budget", type=float, default=float(env("BENCH_BUDGET", "1800")))
    parser.add_argument(
        "--overhead-seconds",
        type=float,
        default=float(env("BENCH_OVERHEAD_SECONDS", "4")),
    )
    parser.add_argument("--conversations", default=env("BENCH_CONVERSATIONS", "4,12"))
    parser.add_argument("--turns", type=int, default=int(env("BENCH_TURNS", "6")))
    parser.add_argument(
        "--conversation-rounds",
        type=int,
        default=int(env("BENCH_CONVERSATION_ROUNDS", "2")),
    )
    parser.add_argument("--quiet-wait", type=float, default=float(env("BENCH_QUIET_WAIT", "0")))
    parser.add_argument("--quiet-load", type=float, default=float(env("BENCH_QUIET_LOAD", "0.5")))
    args = parser.parse_args()
    args.layouts = [x for x in args.layouts.split(",") if x.strip()]
    args.levels = [int(x) for x in args.levels.split(",") if x.strip()]
    args.verdict_levels = [int(x) for x in args.verdict_levels.split(",") if x.strip()]
    args.conversations = [int(x) for x in args.conversations.split(",") if x.strip()]
    args.sections = {x.strip() for x in args.sections.split(",") if x.strip()}
    args.baselines = {x.strip() for x in args.baselines.split(",") if x.strip()}
    args.gateway_env = dict(x.split("=", 1) for x in args.gateway_env.split(",") if "=" in x)
    if args.rounds < 1:
        parser.error("BENCH_ROUNDS must be at least 1")
    if args.llama_server and not os.access(args.llama_server, os.X_OK):
        parser.error(f"LLAMA_SERVER={args.llama_server} is not an executable file")
    Bench(args).run()


if __name__ == "__main__":
    main()
