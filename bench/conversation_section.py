"""`make bench`'s `conversations` section: multi-turn conversations, more of them than slots.

Real chats re-send their whole history every turn; with more conversations than the server
has slots, a conversation's KV is taken by another's while it waits for its user, and its
history is read again when it returns. This section runs `BENCH_CONVERSATIONS` concurrent
conversations (default 4, fewer than the slots, and 12, more) of `BENCH_TURNS` turns against
the gateway's default layout and llama.cpp's `llama-server` with the same slots, threads and
context per slot, interleaved (gateway, llama-server, gateway, ...) for
`BENCH_CONVERSATION_ROUNDS` rounds. Every round starts each server afresh and uses texts no
other round uses, so no round finds another's history in any cache.

Request shapes: `chat` (the whole history every turn) on both servers; `responses`
(`previous_response_id`, store on) on the gateway only: llama-server has no Responses API.

The client is bench/conversations.py (its own process, .venv-bench); the tables are
bench/conversation_report.py.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
import urllib.request
from typing import TYPE_CHECKING, Any

import servers
from probes import eog_tokens, other_cpu, post
from stats import percentile
from workload import stream_body

if TYPE_CHECKING:
    from run import Bench

MAX_TOKENS = 48
"""Tokens per answer: with a ~530-token first prompt, turn 6's prompt is near 950 tokens, well
inside N_CTX=2048 per slot."""
SECTION_SECONDS = 900
"""A round after the first starts only if the section's time so far plus its longest round
stays under this (a busy machine makes rounds slow: the section then stops early and says
so)."""
QUEUE_TIMEOUT = 600
"""The gateway's QUEUE_TIMEOUT in this section (seconds)."""
# Metrics of the gateway whose per-row change is reported (prompt tokens evaluated, cached,
# restored, ...: whatever counters of that kind the gateway exposes).
COUNTER = re.compile(r"^(\w*(?:prompt_tokens|cache|kv)\w*_total)(?:\{[^}]*\})? (\S+)$")


def run(bench: Bench) -> None:
    args = bench.args
    layout = bench.default
    eog = getattr(bench, "eog", None) or eog_tokens(bench.model)
    slots = layout.workers * layout.parallel
    section: dict[str, Any] = {
        "settings": {
            "conversations": args.conversations,
            "turns": args.turns,
            "rounds": args.conversation_rounds,
            "max_tokens": MAX_TOKENS,
            "banned_tokens": eog,
            "slots": slots,
            "n_ctx": bench.n_ctx,
        },
        "servers": {},
        "rounds": [],
    }
    bench.results["conversations"] = section
    binary = args.llama_server if "llama-server" in args.baselines else ""
    if not binary:
        bench.results["skipped"].append("conversations, llama-server: LLAMA_SERVER not given")
    started = time.monotonic()
    longest = 0.0
    for r in range(args.conversation_rounds):
        spent = time.monotonic() - started
        if r and spent + longest > SECTION_SECONDS:
            bench.results["skipped"].append(
                f"conversations, rounds {r + 1}-{args.conversation_rounds}: one more round "
                f"would take the section past {SECTION_SECONDS} s"
            )
            break
        if not bench.time_left(f"conversations, round {r + 1}"):
            break
        round_start = time.monotonic()
        rows: dict[str, Any] = {}
        section["rounds"].append(rows)
        name = f"gateway {layout}"
        env = {
            "RESPONSE_STORE": str(bench.logs / f"responses-round{r + 1}.db"),
            # llama-server queues without a limit; the gateway's default answers 429 after
            # 30 s, which a conversation waiting behind the others can reach on a busy machine.
            "QUEUE_TIMEOUT": str(QUEUE_TIMEOUT),
        }
        with servers.running(bench.gateway(layout, name, extra_env=env)) as server:
            section["servers"][name] = f"{layout.describe()}, QUEUE_TIMEOUT {QUEUE_TIMEOUT}"
            rows[name] = measure(bench, server, r, ("chat", "responses"), eog, metrics=True)
        if binary:
            server = bench.llama_server(binary, "llama-server")
            section["servers"]["llama-server"] = (
                f"{server.details['description']}, {server.details['version']}"
            )
            with servers.running(server):
                rows["llama-server"] = measure(bench, server, r, ("chat",), eog)
        longest = max(longest, time.monotonic() - round_start)
    section["seconds"] = round(time.monotonic() - started, 1)


def measure(
    bench: Bench,
    server: servers.Server,
    round_index: int,
    shapes: tuple[str, ...],
    eog: list[int],
    *,
    metrics: bool = False,
) -> dict[str, Any]:
    """Every shape and conversation count on one freshly started server."""
    warm = stream_body({"model": server.model, "max_tokens": 16}, 0)
    warm["stream"] = False
    warm.pop("stream_options")
    for _ in range(2):
        post(server.url + "/v1/chat/completions", warm)
    out: dict[str, Any] = {}
    for s, shape in enumerate(("chat", "responses")):
        if shape not in shapes:
            continue
        for k, count in enumerate(bench.args.conversations):
            # The same texts for both servers in a round; other texts in every other round.
            first = 100_000 * (round_index + 1) + 10_000 * s + 1_000 * k
            spec = {
                "url": server.url,
                "model": server.model,
                "shape": shape,
                "conversations": count,
                "turns": bench.args.turns,
                "max_tokens": MAX_TOKENS,
                "ban_tokens": eog,
                "first": first,
            }
            bench.note_load(f"{server.name} {shape} {count} conversations")
            before = counters(server) if metrics else {}
            with other_cpu(server) as cpu:
                raw = client(spec)
            row = summarize(raw, count, bench.args.turns)
            others = cpu["busy"] - cpu["ours"] - raw["cpu"]
            row["other_cpu_pct"] = max(0.0, 100 * others / cpu["total"]) if cpu["total"] else 0
            if metrics:
                after = counters(server)
                row["metrics"] = {
                    n: after[n] - before.get(n, 0.0)
                    for n in after
                    if after[n] != before.get(n, 0.0)
                }
            out.setdefault(shape, {})[str(count)] = row
            print(f"  {server.name}: {shape}, {count} conversations: {brief(row)}")
    return out


def client(spec: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [
            str(servers.BENCH_VENV / "python"),
            str(servers.ROOT / "bench" / "conversations.py"),
            json.dumps(spec),
        ],
        capture_output=True,
        timeout=900,
        check=False,
    )
    if out.returncode:
        sys.stderr.write(out.stderr.decode(errors="replace"))
        out.check_returncode()
    result: dict[str, Any] = json.loads(out.stdout)
    return result


def counters(server: servers.Server) -> dict[str, float]:
    """The gateway's prompt-token and cache counters, summed over their labels."""
    try:
        with urllib.request.urlopen(server.url + "/metrics", timeout=10) as response:
            text = response.read().decode()
    except OSError:
        return {}
    totals: dict[str, float] = {}
    for line in text.splitlines():
        match = COUNTER.match(line)
        if match:
            totals[match[1]] = totals.get(match[1], 0.0) + float(match[2])
    return totals


def summarize(raw: dict[str, Any], conversations: int, turns: int) -> dict[str, Any]:
    records = raw["turns"]
    ok = [t for t in records if t["error"] is None]
    first = [1000 * t["ttft"] for t in ok if t["turn"] == 1]
    warm = [1000 * t["ttft"] for t in ok if t["turn"] > 1]
    last = [t["prompt_tokens"] for t in ok if t["turn"] == turns and t["prompt_tokens"]]
    opening = [t["prompt_tokens"] for t in ok if t["turn"] == 1 and t["prompt_tokens"]]
    outputs = [t["output_tokens"] for t in ok if t["output_tokens"] is not None]

    def total(key: str) -> int | None:
        values = [t[key] for t in ok if t[key] is not None]
        return sum(values) if values else None

    return {
        "turns": len(records),
        # Failed turns, and the turns a conversation never sent after its failure.
        "errors": len(records) - len(ok) + conversations * turns - len(records),
        "error_samples": sorted({t["error"] for t in records if t["error"]})[:3],
        "wall_s": raw["wall"],
        "ttft_first_ms": {"p50": percentile(first, 50)},
        "ttft_warm_ms": {"p50": percentile(warm, 50), "p90": percentile(warm, 90)},
        "latency_ms": {"p50": percentile([1000 * t["latency"] for t in ok], 50)},
        "prompt_tokens_first": percentile(opening, 50),
        "prompt_tokens_last": percentile(last, 50),
        "output_tokens_mean": sum(outputs) / len(outputs) if outputs else None,
        "prompt_tokens_total": total("prompt_tokens"),
        "cached_tokens_total": total("cached_tokens"),
        "evaluated_tokens_total": total("evaluated_tokens"),
        "reused_tokens_total": total("reused_tokens"),
        "client_cpu_s": raw["cpu"],
        "records": records,
    }


def brief(row: dict[str, Any]) -> str:
    def ms(value: float | None) -> str:
        return "-" if value is None else f"{value:.0f} ms"

    return (
        f"TTFT turn 1 p50 {ms(row['ttft_first_ms']['p50'])}, turns 2+ p50 "
        f"{ms(row['ttft_warm_ms']['p50'])}, errors {row['errors']}, {row['wall_s']:.1f} s"
    )
