"""The conversations section's tables and targets (bench/conversation_section.py measures).

Each (server, shape, conversations) row is measured once per round; rounds are interleaved
(gateway, llama-server, gateway, ...) so that a slow stretch of the shared machine hits both.
Ratios pair the gateway and llama-server of the same round and show the median over rounds
with their range."""

from __future__ import annotations

from statistics import median
from typing import Any

FIGURES = (
    ("ttft_first_ms", "p50", "turn-1 TTFT p50"),
    ("ttft_warm_ms", "p50", "turns 2+ TTFT p50"),
    ("ttft_warm_ms", "p90", "turns 2+ TTFT p90"),
    ("latency_ms", "p50", "turn latency p50"),
)
RIVAL = "llama-server"


def fmt(value: float | None, digits: int = 0) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def rows(section: dict[str, Any]) -> list[tuple[str, str, str, int, dict[str, Any]]]:
    """(server, shape, conversations, round, row) for every measured row, in run order."""
    out = []
    for r, servers in enumerate(section["rounds"], 1):
        for server, shapes in servers.items():
            for shape, levels in shapes.items():
                for count, row in levels.items():
                    out.append((server, shape, count, r, row))
    order = {s: i for i, s in enumerate(section["servers"])}
    out.sort(key=lambda x: (order.get(x[0], 99), x[1], int(x[2]), x[3]))
    return out


def tables(section: dict[str, Any]) -> list[str]:
    s = section["settings"]
    out = [
        "",
        "## Conversations (multi-turn, more conversations than slots)",
        "",
        f"{' and '.join(map(str, s['conversations']))} concurrent conversations of "
        f"{s['turns']} turns each, closed loop (a conversation sends its next turn when the "
        f"previous answer has ended), all starting together, against {s['slots']} slots of "
        f"{s['n_ctx']} tokens. Turn 1: a system prompt and a distinct text of about 500 "
        f"tokens; every later turn adds the answer and a short distinct question. Answers: "
        f"{s['max_tokens']} tokens at temperature 0 (end-of-generation tokens banned through "
        "`logit_bias` in chat; the Responses API has no `logit_bias`, so its answers may be "
        "shorter: see the answer column). Shapes: `chat`, the whole history every turn; "
        "`responses`, the Responses API with `store` and `previous_response_id`, only the "
        "question sent (gateway only: llama-server has no Responses API). Every round starts "
        "each server afresh and uses texts no other round uses. Times in ms; TTFT: request "
        "sent to first text delta; prompt tokens as the server's `usage` reports them "
        "(median over conversations); errors count failed turns and the turns a conversation "
        "could not send after one; other CPU as in the model path.",
        "",
    ]
    for server, description in section["servers"].items():
        out.append(f"- {server}: {description}")
    out.append(f"- the section took {fmt(section.get('seconds'))} s")
    out += [
        "",
        "| server | shape | conversations | round | turn-1 TTFT p50 | turns 2+ TTFT p50 "
        "| turns 2+ TTFT p90 | turn latency p50 | prompt tokens turn 1 / last "
        "| answer tokens | errors | other CPU | wall s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for server, shape, count, r, row in rows(section):
        out.append(
            f"| {server} | {shape} | {count} | {r} | {fmt(row['ttft_first_ms']['p50'])} "
            f"| {fmt(row['ttft_warm_ms']['p50'])} | {fmt(row['ttft_warm_ms']['p90'])} "
            f"| {fmt(row['latency_ms']['p50'])} "
            f"| {fmt(row['prompt_tokens_first'])} / {fmt(row['prompt_tokens_last'])} "
            f"| {fmt(row['output_tokens_mean'], 1)} | {row['errors']} "
            f"| {fmt(row['other_cpu_pct'])}% | {fmt(row['wall_s'], 1)} |"
        )
    out += ratio_table(section)
    out += token_table(section)
    samples = sorted({e for *_, row in rows(section) for e in row["error_samples"]})
    if samples:
        out += ["", "Errors seen: " + "; ".join(f"`{e}`" for e in samples[:5])]
    return out


def ratios(section: dict[str, Any], count: str, key: str, q: str) -> list[float]:
    """Gateway / llama-server of one figure (chat, `count` conversations), one per round."""
    out = []
    for servers in section["rounds"]:
        rival = servers.get(RIVAL, {}).get("chat", {}).get(count)
        ours = next((v for n, v in servers.items() if n.startswith("gateway")), {})
        mine = ours.get("chat", {}).get(count)
        if rival and mine and mine[key][q] is not None and rival[key][q]:
            out.append(mine[key][q] / rival[key][q])
    return out


def other_cpu(section: dict[str, Any], count: str) -> list[float | None]:
    """Per round, the larger other-CPU share of the two chat rows that `ratios` pairs."""
    out: list[float | None] = []
    for servers in section["rounds"]:
        rival = servers.get(RIVAL, {}).get("chat", {}).get(count)
        ours = next((v for n, v in servers.items() if n.startswith("gateway")), {})
        mine = ours.get("chat", {}).get(count)
        if rival and mine:
            out.append(max(rival["other_cpu_pct"], mine["other_cpu_pct"]))
    return out


def spread(values: list[float]) -> str:
    if len(values) == 1:
        return f"{values[0]:.2f} (1 round)"
    return f"{median(values):.2f} ({min(values):.2f}-{max(values):.2f}, {len(values)} rounds)"


def ratio_table(section: dict[str, Any]) -> list[str]:
    counts = [str(c) for c in section["settings"]["conversations"]]
    cells = {c: [ratios(section, c, key, q) for key, q, _ in FIGURES] for c in counts}
    if not any(v for c in counts for v in cells[c]):
        return []
    out = [
        "",
        "Gateway / llama-server, chat (median over rounds, range; below 1: the gateway is faster):",
        "",
        "| conversations | " + " | ".join(label for *_, label in FIGURES) + " |",
        "|---:|" + "---:|" * len(FIGURES),
    ]
    for c in counts:
        out.append(f"| {c} | " + " | ".join(spread(v) if v else "-" for v in cells[c]) + " |")
    return out


def token_table(section: dict[str, Any]) -> list[str]:
    """Prompt tokens sent against what the servers say they evaluated or reused."""
    lines = []
    for server, shape, count, r, row in rows(section):
        reported = []
        if row["cached_tokens_total"] is not None:
            reported.append(f"cached {fmt(row['cached_tokens_total'])}")
        if row["evaluated_tokens_total"] is not None:
            reported.append(f"evaluated {fmt(row['evaluated_tokens_total'])}")
        if row["reused_tokens_total"] is not None:
            reported.append(f"reused {fmt(row['reused_tokens_total'])}")
        metrics = ", ".join(
            f"`{name}` {fmt(delta)}" for name, delta in sorted(row.get("metrics", {}).items())
        )
        lines.append(
            f"| {server} | {shape} | {count} | {r} | {fmt(row['prompt_tokens_total'])} "
            f"| {', '.join(reported) or '-'} | {metrics or '-'} |"
        )
    return [
        "",
        "Prompt tokens of all turns: as `usage` counts them (sent), what the server's own "
        "fields say (`prompt_tokens_details.cached_tokens`; llama-server's `timings`: "
        "`prompt_n` evaluated, `cache_n` reused), and how much the gateway's prompt-token and "
        "cache counters in `/metrics` grew during the row:",
        "",
        "| server | shape | conversations | round | sent | reported | gateway /metrics change |",
        "|---|---|---:|---:|---:|---|---|",
        *lines,
    ]
