"""The benchmark's results as Markdown: tables, and the targets checked against baselines
measured in the same run (verdict.py judges them)."""

from __future__ import annotations

from typing import Any

import conversation_report
import verdict


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def brief(level: dict[str, Any]) -> str:
    return (
        f"{level['tok_s']:.1f} tok/s, TTFT p50 {fmt(level['ttft_ms']['p50'])} ms, "
        f"TPOT p50 {fmt(level['tpot_ms']['p50'], 1)} ms, errors {level['errors']}"
    )


def embedding_brief(rows: dict[str, Any]) -> str:
    """`64 inputs: 120.0/s, 256 inputs: 130.0/s` for one row of the embeddings section."""
    first = next(iter(rows.values()))
    return ", ".join(f"{n} inputs: {r['inputs_s']:.1f}/s" for n, r in first.items())


def markdown(results: dict[str, Any]) -> str:
    out: list[str] = []
    m = results["machine"]
    s = results["settings"]
    out.append(f"# Benchmark {results['started']}")
    out.append("")
    out.append(
        f"`{results['command']}` on {m['cpu']} ({m['cores']} cores), commit {m['commit']}; "
        f"finished {results.get('finished', '?')}."
    )
    loads = ", ".join(f"{x['at']}: {x['loadavg'][0]:.2f}" for x in results["load"])
    out.append("")
    out.append(f"1-minute load average when each part started: {loads}.")
    if results.get("quiet_wait_s"):
        out.append(f"Waited {results['quiet_wait_s']} s for a quiet machine first.")
    for skipped in results["skipped"]:
        out.append(f"- skipped: {skipped}")
    if "model" in results:
        out += model_tables(results["model"], s)
    out += verdict.table(results)
    if "verdict" in results:
        out += verdict.rounds_table(results["verdict"])
    if "overhead" in results:
        out += overhead_tables(results["overhead"])
    if "embeddings" in results:
        out += embedding_table(results["embeddings"])
    if "conversations" in results:
        out += conversation_report.tables(results["conversations"])
    if "model" in results:
        out += memory_table(results["model"])
    out.append("")
    return "\n".join(out)


def model_tables(model: dict[str, Any], s: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## Model path",
        "",
        f"{s['max_tokens']} new tokens per stream (end-of-generation tokens "
        f"{model['banned_tokens']} banned through `logit_bias`, so every stream is that long), "
        f"distinct prompts, temperature 0.8; N_CTX {s['n_ctx']}, N_BATCH {s['n_batch']}. "
        "Streams start together and each sends 4 (1 stream), 3 (2) or 2 (4+) requests back "
        "to back. Times in ms; tok/s is output tokens of all streams over the wall time. "
        '"all started": in the first round, streams that got their first token before any '
        'stream ended. "other CPU": the share of the machine (all cores) that processes other '
        "than the server and the load generator used meanwhile: above a few % the figures of "
        "that row are disturbed.",
        "",
        "| server | streams | tok/s | TTFT p50 | TTFT p99 | TPOT p50 | TPOT p99 | ITL p99 | "
        "E2E p50 | errors | all started | other CPU |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, entry in model["servers"].items():
        label = f"{name} ({entry['details'].get('description', '')})"
        for streams, level in entry["levels"].items():
            out.append(
                f"| {label} | {streams} | {fmt(level['tok_s'], 1)} "
                f"| {fmt(level['ttft_ms']['p50'])} | {fmt(level['ttft_ms']['p99'])} "
                f"| {fmt(level['tpot_ms']['p50'], 1)} "
                f"| {fmt(level['tpot_ms']['p99'], 1)} | {fmt(level['itl_ms']['p99'], 1)} "
                f"| {fmt(level['e2e_ms']['p50'])} | {level['errors']} "
                f"| {level['first_round_started_before_any_ended']}/{level['first_round']} "
                f"| {fmt(level.get('other_cpu_pct'))}% |"
            )
            label = ""
    out += [
        "",
        "In process (llama-cpp-python's `Llama.create_chat_completion`, one stream):",
        "",
    ]
    out += ["| threads | decode tok/s (median of 3) | TTFT ms |", "|---:|---:|---:|"]
    for threads, entry in model["inprocess"].items():
        out.append(f"| {threads} | {fmt(entry['decode_tok_s'], 1)} | {fmt(entry['ttft_ms'])} |")
    cpu = [
        level["loadgen_cpu_pct"]
        for entry in model["servers"].values()
        for level in entry["levels"].values()
    ]
    if cpu:
        out += [
            "",
            f"Load generator CPU: at most {max(cpu):.0f}% of one core (aiohttp, own process).",
        ]
    return out


def overhead_tables(overhead: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## Gateway overhead (mock backend, no delays, 1 worker)",
        "",
        f"Against a bare ASGI app on the same gunicorn worker class returning the same bytes: a "
        f"{overhead.get('body_bytes', '?')}-byte JSON body, or the same "
        f"{overhead.get('stream_events', '?')} pre-encoded SSE events. CPU: the worker's, per "
        "request or per SSE event. Each figure is the median over "
        f"{len(overhead.get('rounds', []))} rounds (gateway chat, gateway messages and the bare "
        "app in turns, the order rotating each round; each server started once); other CPU "
        f"per round: {other_cpu(overhead.get('rounds', []))}.",
        "",
        "| request | users | gateway req/s | bare req/s | gateway p50 / p99 ms | bare p50 / p99 ms "
        "| gateway CPU µs | bare CPU µs |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    gateway, bare = overhead.get("gateway", {}), overhead.get("bare", {})
    for key in gateway:
        g, b = gateway[key], bare.get(key)
        kind, users = key.split(" c=")
        per = "cpu_us_per_event" if kind == "stream" else "cpu_us_per_request"
        label = "stream (per SSE event)" if kind == "stream" else "plain JSON"
        if b is None:
            continue
        out.append(
            f"| {label} | {users} | {fmt(g['rps'])} | {fmt(b['rps'])} "
            f"| {fmt(g['latency_ms']['p50'], 1)} / {fmt(g['latency_ms']['p99'], 1)} "
            f"| {fmt(b['latency_ms']['p50'], 1)} / {fmt(b['latency_ms']['p99'], 1)} "
            f"| {fmt(g[per], 1)} | {fmt(b[per], 1)} |"
        )
    streams = [(k, v) for k, v in gateway.items() if k.startswith("stream")]
    if streams:
        out += ["", "| SSE events/s | users | gateway | bare |", "|---|---:|---:|---:|"]
        for key, g in streams:
            b = bare.get(key, {})
            out.append(
                f"| | {key.split(' c=')[1]} | {fmt(g['events_s'])} | {fmt(b.get('events_s'))} |"
            )
    messages = overhead.get("messages", {})
    if messages:
        out += [
            "",
            "| /v1/messages vs chat (same gateway) | users | messages req/s | chat req/s "
            "| messages CPU µs | chat CPU µs |",
            "|---|---:|---:|---:|---:|---:|",
        ]
        for key, m in messages.items():
            c = gateway.get(key)
            if c is None:
                continue
            kind, users = key.split(" c=")
            per = "cpu_us_per_event" if kind == "stream" else "cpu_us_per_request"
            label = "stream (per SSE event)" if kind == "stream" else "plain JSON"
            out.append(
                f"| {label} | {users} | {fmt(m['rps'])} | {fmt(c['rps'])} "
                f"| {fmt(m[per], 1)} | {fmt(c[per], 1)} |"
            )
    cpu = [v["loadgen_cpu_pct"] for side in (gateway, bare) for v in side.values()]
    if cpu:
        out += [
            "",
            f"Load generator CPU: up to {max(cpu):.0f}% of one core (when near 100% it, not the "
            "server, set the pace).",
        ]
    return out


def other_cpu(turns: list[dict[str, Any]]) -> str:
    """`0 / 2 / 1 %`: the other processes' share of the machine in each round."""
    shares = [fmt(turn.get("other_cpu_pct")) for turn in turns]
    return " / ".join(shares) + " %" if shares else "-"


def memory_table(model: dict[str, Any]) -> list[str]:
    entry = next((e for e in model["servers"].values() if e.get("role") == "default"), None)
    if entry is None or not entry.get("memory"):
        return []
    memory = entry["memory"]
    out = [
        "",
        f"## Memory ({entry['details'].get('description', '')})",
        "",
        "| worker | idle MB | peak MB under load (per stream count) | after MB |",
        "|---|---:|---|---:|",
    ]
    for pid, idle in memory["idle_mb"].items():
        peaks = ", ".join(
            f"{streams}: {fmt(values.get(pid), 0)}"
            for streams, values in memory.get("peak_mb", {}).items()
        )
        out.append(
            f"| {pid} | {fmt(idle)} | {peaks} | {fmt(memory.get('after_mb', {}).get(pid))} |"
        )
    out.append(f"\ngunicorn master: {fmt(memory.get('master_mb'))} MB.")
    return out


def embedding_table(section: dict[str, Any]) -> list[str]:
    servers = {name: rows for name, rows in section.items() if name != "rounds"}
    counts = sorted({int(n) for rows in servers.values() for n in rows})
    turns = len(section.get("rounds", []))
    over = f", median over {turns} interleaved rounds of 3" if turns else ", median of 3"
    out = [
        "",
        f"## Embeddings (one request of N short inputs, inputs/s{over})",
        "",
        "| server | " + " | ".join(f"{n} inputs" for n in counts) + " | other CPU |",
        "|---|" + "---:|" * (len(counts) + 1),
    ]
    for name, rows in servers.items():
        cells = [fmt(rows[str(n)]["inputs_s"], 1) if str(n) in rows else "-" for n in counts]
        other = [r["other_cpu_pct"] for r in rows.values() if "other_cpu_pct" in r]
        out.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {fmt(max(other), 0) + ' %' if other else '-'} |"
        )
    return out
