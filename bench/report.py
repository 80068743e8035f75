"""The benchmark's results as Markdown: tables, and the targets checked against baselines
measured in the same run."""

from __future__ import annotations

from typing import Any

import conversation_report


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
    out += targets(results)
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


def _level(model: dict[str, Any], role_or_name: str, streams: int) -> dict[str, Any] | None:
    for name, entry in model["servers"].items():
        if name == role_or_name or entry.get("role") == role_or_name:
            level: dict[str, Any] | None = entry["levels"].get(str(streams))
            return level
    return None


def targets(results: dict[str, Any]) -> list[str]:
    """The issue's targets, each checked against a baseline of the same run."""
    rows: list[tuple[str, str, bool | None]] = []
    title = "gateway overhead"
    if "model" in results:
        title = model_targets(results, rows) or title
    if "overhead" in results:
        overhead_targets(results["overhead"], rows)
    if "embeddings" in results:
        embedding_targets(results["embeddings"], rows)
    if "conversations" in results:
        conversation_report.targets(results["conversations"], rows)
    if not rows:
        return []
    out = ["", f"## Targets ({title})", "", "| target | measured | met |", "|---|---|:-:|"]
    for what, measured, ok in rows:
        out.append(f"| {what} | {measured} | {'yes' if ok else 'NO'} |")
    return out


def overhead_targets(overhead: dict[str, Any], rows: list[tuple[str, str, bool | None]]) -> None:
    gateway, bare = overhead.get("gateway", {}), overhead.get("bare", {})
    messages_targets(gateway, overhead.get("messages", {}), rows)
    g32, b32 = gateway.get("plain c=32"), bare.get("plain c=32")
    if g32 and b32:
        ratio = g32["rps"] / b32["rps"]
        rows.append(
            (
                "gateway: plain requests/s at 32 users >= 0.3 x bare app",
                f"{g32['rps']:,.0f} / {b32['rps']:,.0f} = {ratio:.2f}",
                ratio >= 0.3,
            )
        )
    g1, b1 = gateway.get("plain c=1"), bare.get("plain c=1")
    if g1 and b1:
        added = g1["latency_ms"]["p50"] - b1["latency_ms"]["p50"]
        rows.append(
            (
                "gateway: added median latency at 1 user < 0.25 ms",
                f"{g1['latency_ms']['p50']:.3f} - {b1['latency_ms']['p50']:.3f} = {added:.3f} ms",
                added < 0.25,
            )
        )
    for key in ("stream c=1", "stream c=32"):
        g, b = gateway.get(key), bare.get(key)
        if g and b and b["cpu_us_per_event"]:
            ratio = g["cpu_us_per_event"] / b["cpu_us_per_event"]
            rows.append(
                (
                    f"gateway: worker CPU per SSE event <= 2 x bare app ({key.split(' ')[1]})",
                    f"{g['cpu_us_per_event']:.1f} / {b['cpu_us_per_event']:.1f} µs = {ratio:.2f}",
                    ratio <= 2,
                )
            )


def messages_targets(
    chat: dict[str, Any], messages: dict[str, Any], rows: list[tuple[str, str, bool | None]]
) -> None:
    """The Messages route against chat on the same gateway, same run: CPU per request (plain)
    and per event (stream), at 32 users; "no more" allows the run's noise (10 %)."""
    for key, per, what in (
        ("plain c=32", "cpu_us_per_request", "request"),
        ("stream c=32", "cpu_us_per_event", "SSE event"),
    ):
        c, m = chat.get(key), messages.get(key)
        if c and m and c.get(per) and m.get(per):
            ratio = m[per] / c[per]
            rows.append(
                (
                    f"/v1/messages: worker CPU per {what} <= chat's (32 users, within 10 %)",
                    f"{m[per]:.1f} / {c[per]:.1f} µs = {ratio:.2f}",
                    ratio <= 1.1,
                )
            )


def model_targets(results: dict[str, Any], rows: list[tuple[str, str, bool | None]]) -> str | None:
    """The model path's targets; returns the default server's name (None: not measured)."""
    model = results["model"]
    default_name = next(
        (n for n, e in model["servers"].items() if e.get("role") == "default"), None
    )
    if default_name is None:
        return None
    threads = results["settings"]["default_layout"].split("x")[1]

    def check(what: str, measured: str, ok: bool | None) -> None:
        rows.append((what, measured, ok))

    one, four, eight = (_level(model, "default", n) for n in (1, 4, 8))
    inproc = model["inprocess"].get(threads)
    if one and inproc and one["decode_tok_s"]:
        ratio = one["decode_tok_s"] / inproc["decode_tok_s"]
        check(
            "1 stream: decode >= 0.95 x llama-cpp-python in process",
            f"{one['decode_tok_s']:.1f} / {inproc['decode_tok_s']:.1f} tok/s = {ratio:.2f}",
            ratio >= 0.95,
        )
    if four and one:
        check("4 streams: 0 errors", str(four["errors"]), four["errors"] == 0)
        ratio = four["tok_s"] / one["tok_s"]
        check(
            "4 streams: aggregate >= 1.5 x 1 stream",
            f"{four['tok_s']:.1f} / {one['tok_s']:.1f} = {ratio:.2f}",
            ratio >= 1.5,
        )
        check(
            "4 streams: TTFT p50 ≤ 300 ms",
            f"{four['ttft_ms']['p50']:.0f} ms",
            four["ttft_ms"]["p50"] <= 300,
        )
        check(
            "4 streams: every stream progresses from its first token",
            f"{four['first_round_started_before_any_ended']}/{four['first_round']} started "
            f"before any ended; longest gap {four['itl_max_ms']:.0f} ms",
            four["first_round_started_before_any_ended"] == four["first_round"],
        )
    if eight and four:
        check("8 streams: 0 errors", str(eight["errors"]), eight["errors"] == 0)
        check(
            "8 streams: aggregate >= 4 streams",
            f"{eight['tok_s']:.1f} vs {four['tok_s']:.1f}",
            eight["tok_s"] >= four["tok_s"],
        )
        check(
            "8 streams: TTFT p50 ≤ 1 s",
            f"{eight['ttft_ms']['p50']:.0f} ms",
            eight["ttft_ms"]["p50"] <= 1000,
        )
        rival = _level(model, "llama-server", 8)
        if rival:
            check(
                "8 streams: aggregate ahead of llama-server",
                f"{eight['tok_s']:.1f} vs {rival['tok_s']:.1f} tok/s",
                eight["tok_s"] > rival["tok_s"],
            )
            check(
                "8 streams: TTFT p50 ahead of llama-server",
                f"{eight['ttft_ms']['p50']:.0f} vs {rival['ttft_ms']['p50']:.0f} ms",
                eight["ttft_ms"]["p50"] < rival["ttft_ms"]["p50"],
            )
    return default_name


def overhead_tables(overhead: dict[str, Any]) -> list[str]:
    out = [
        "",
        "## Gateway overhead (mock backend, no delays, 1 worker)",
        "",
        f"Against a bare ASGI app on the same gunicorn worker class returning the same bytes: a "
        f"{overhead.get('body_bytes', '?')}-byte JSON body, or the same "
        f"{overhead.get('stream_events', '?')} pre-encoded SSE events. CPU: the worker's, per "
        "request or per SSE event.",
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
    counts = sorted({int(n) for rows in section.values() for n in rows})
    out = [
        "",
        "## Embeddings (one request of N short inputs, inputs/s, median of 3)",
        "",
        "| server | " + " | ".join(f"{n} inputs" for n in counts) + " | other CPU |",
        "|---|" + "---:|" * (len(counts) + 1),
    ]
    for name, rows in section.items():
        cells = [fmt(rows[str(n)]["inputs_s"], 1) if str(n) in rows else "-" for n in counts]
        other = [r["other_cpu_pct"] for r in rows.values() if "other_cpu_pct" in r]
        out.append(
            f"| {name} | "
            + " | ".join(cells)
            + f" | {fmt(max(other), 0) + ' %' if other else '-'} |"
        )
    return out


def embedding_targets(section: dict[str, Any], rows: list[tuple[str, str, bool | None]]) -> None:
    """Batched embeddings at or ahead of llama-server `--embeddings` (when it ran)."""
    gateway = next((r for n, r in section.items() if n.startswith("gateway")), None)
    rival = section.get("llama-server")
    if gateway is None or rival is None:
        return
    for n in sorted(gateway, key=int):
        if n in rival:
            ratio = gateway[n]["inputs_s"] / rival[n]["inputs_s"]
            rows.append(
                (
                    f"embeddings, {n} inputs: at or above llama-server's inputs/s",
                    f"{ratio:.2f} x",
                    ratio >= 1,
                )
            )
