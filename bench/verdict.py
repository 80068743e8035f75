"""The report's verdicts: the issue's targets, each judged on its median over the rounds that
measured it (rounds.py says why), with the min-max, the margin, how many rounds met it alone,
and how busy the rest of the machine was in each round; and the table of the interleaved
rounds against llama-server.

A target measured once (the single-pass level tables, the in-process decode) is one round
here: its min-max reads "one run".
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import conversation_report
from rounds import ratio, spread
from stats import percentile

OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "<": operator.lt,
    ">": operator.gt,
}
SHOWN = {">=": "≥", "<=": "≤", "<": "<", ">": ">"}


@dataclass(frozen=True)
class Target:
    what: str
    values: Sequence[float | None]  # one per round
    op: str  # how the median compares with the threshold
    threshold: float
    unit: str = " x"
    digits: int = 2
    other_cpu: Sequence[float | None] = ()  # the other processes' share, per round
    every_round: bool = False  # met only when every round meets it (errors)

    def passes(self, value: float | None) -> bool:
        return value is not None and OPS[self.op](value, self.threshold)

    @property
    def median(self) -> float | None:
        summary = spread(self.values)
        return None if summary is None else summary["median"]

    @property
    def met(self) -> bool:
        if self.every_round:
            return bool(self.values) and all(self.passes(v) for v in self.values)
        return self.passes(self.median)

    def margin(self) -> str:
        """How far the median is on the right side of the threshold (negative: the wrong)."""
        if self.median is None or not self.threshold:
            return "-"
        above = self.median / self.threshold - 1
        return f"{100 * (above if self.op in ('>=', '>') else -above):+.0f} %"

    def row(self) -> str:
        summary = spread(self.values)
        digits = self.digits
        median = "-" if summary is None else f"{summary['median']:.{digits}f}{self.unit}"
        if summary is None or len(self.values) < 2:
            span = "one run"
        else:
            span = f"{summary['min']:.{digits}f} to {summary['max']:.{digits}f}"
        rounds_met = f"{sum(self.passes(v) for v in self.values)}/{len(self.values)}"
        other = " / ".join("-" if c is None else f"{c:.0f}" for c in self.other_cpu) or "-"
        return (
            f"| {self.what} | {SHOWN[self.op]} {self.threshold:g}{self.unit} | {median} | {span} "
            f"| {self.margin()} | {rounds_met} | {'yes' if self.met else 'NO'} | {other} % |"
        )


def table(results: dict[str, Any]) -> list[str]:
    """The targets table: every target judged on its median over rounds."""
    found = model_targets(results) + llama_server_targets(results)
    found += overhead_targets(results.get("overhead", {}))
    found += embedding_targets(results.get("embeddings", {}))
    found += conversation_targets(results.get("conversations"))
    if not found:
        return []
    rounds = results["settings"].get("rounds", 1)
    return [
        "",
        "## Targets",
        "",
        "Each target is judged on its median over the rounds that measured it (up to "
        f"{rounds} interleaved rounds for the comparison with llama-server, the gateway's own "
        "figures at those stream counts, the overhead and the embeddings; one run for the "
        "rest), with the "
        "range (min to max) over the rounds, the margin of the median from the threshold "
        '(positive: on the right side), how many rounds met it on their own ("rounds met" also '
        'says how many ran), and "other CPU": the share of the machine other processes used in '
        "each round (above a few % that round was disturbed).",
        "",
        "| target | threshold | median | range | margin | rounds met | met | other CPU |",
        "|---|---|---:|---:|---:|---:|:-:|---:|",
        *(target.row() for target in found),
    ]


def gateway_runs(results: dict[str, Any], streams: int) -> list[dict[str, Any]]:
    """The default gateway at `streams`: one summary per interleaved round when the verdict
    section measured that level, else the single-pass level (each with its other CPU)."""
    level = results.get("verdict", {}).get("levels", {}).get(str(streams))
    if level and level["rounds"]:
        return [{**r["gateway"], "other_cpu_pct": r["other_cpu_pct"]} for r in level["rounds"]]
    for entry in results.get("model", {}).get("servers", {}).values():
        if entry.get("role") == "default" and str(streams) in entry["levels"]:
            return [entry["levels"][str(streams)]]
    return []


def _cpu(runs: Sequence[dict[str, Any]]) -> list[float | None]:
    return [run.get("other_cpu_pct") for run in runs]


def model_targets(results: dict[str, Any]) -> list[Target]:
    one, four, eight = (gateway_runs(results, n) for n in (1, 4, 8))
    found: list[Target] = []
    threads = results["settings"]["default_layout"].split("x")[1]
    inproc = results.get("model", {}).get("inprocess", {}).get(threads)
    if one and inproc and one[0]["decode_tok_s"]:
        found.append(
            Target(
                "1 stream: decode vs llama-cpp-python in process",
                [one[0]["decode_tok_s"] / inproc["decode_tok_s"]],
                ">=",
                0.95,
                other_cpu=_cpu(one),
            )
        )
    for streams, runs, ttft_ms in ((4, four, 300), (8, eight, 1000)):
        if not runs:
            continue
        found += [
            Target(
                f"{streams} streams: errors",
                [r["errors"] for r in runs],
                "<=",
                0,
                unit="",
                digits=0,
                other_cpu=_cpu(runs),
                every_round=True,
            ),
            Target(
                f"{streams} streams: TTFT p50",
                [r["ttft_ms"]["p50"] for r in runs],
                "<=",
                ttft_ms,
                unit=" ms",
                digits=0,
                other_cpu=_cpu(runs),
            ),
        ]
    if four and one:
        found += [
            Target(
                "4 streams: aggregate tok/s vs 1 stream",
                [r["tok_s"] / one[0]["tok_s"] for r in four],
                ">=",
                1.5,
                other_cpu=_cpu(four),
            ),
            Target(
                "4 streams: share of streams given a first token before any ended",
                [r["first_round_started_before_any_ended"] / r["first_round"] for r in four],
                ">=",
                1,
                unit="",
                other_cpu=_cpu(four),
            ),
        ]
    if four and eight:
        found.append(
            Target(
                "8 streams: aggregate tok/s vs 4 streams",
                per_round_ratio([r["tok_s"] for r in eight], [r["tok_s"] for r in four]),
                ">=",
                1,
                other_cpu=_cpu(eight),
            )
        )
    return found


def per_round_ratio(a: Sequence[float], b: Sequence[float]) -> list[float | None]:
    """a / b round by round when both ran the same rounds, else each a / the median of b."""
    if len(a) == len(b):
        return [ratio(x, y) for x, y in zip(a, b, strict=True)]
    return [ratio(x, percentile(list(b), 50)) for x in a]


def llama_server_targets(results: dict[str, Any]) -> list[Target]:
    """Ahead of llama-server at each verdict level: aggregate tok/s and TTFT p50, gateway /
    llama-server in each round (without the verdict section: the single pass, one round)."""
    found: list[Target] = []
    levels = results.get("verdict", {}).get("levels") or single_pass_turns(results)
    for streams, level in levels.items():
        turns = level["rounds"]
        if not turns:
            continue
        found += [
            Target(
                f"{streams} streams: aggregate tok/s, gateway / llama-server",
                [t["tok_s_ratio"] for t in turns],
                ">=",
                1,
                other_cpu=_cpu(turns),
            ),
            Target(
                f"{streams} streams: TTFT p50, gateway / llama-server",
                [t["ttft_p50_ratio"] for t in turns],
                "<=",
                1,
                other_cpu=_cpu(turns),
            ),
        ]
    return found


def single_pass_turns(results: dict[str, Any]) -> dict[str, Any]:
    """The single-pass rows at 4 and 8 streams shaped as one verdict round each."""
    by_role = {
        entry.get("role") if entry.get("role") == "default" else name: entry["levels"]
        for name, entry in results.get("model", {}).get("servers", {}).items()
    }
    ours, theirs = by_role.get("default", {}), by_role.get("llama-server", {})
    levels: dict[str, Any] = {}
    for streams in ("4", "8"):
        if streams in ours and streams in theirs:
            g, r = ours[streams], theirs[streams]
            turn = {
                "tok_s_ratio": ratio(g["tok_s"], r["tok_s"]),
                "ttft_p50_ratio": ratio(g["ttft_ms"]["p50"], r["ttft_ms"]["p50"]),
                "other_cpu_pct": max(g.get("other_cpu_pct", 0), r.get("other_cpu_pct", 0)),
            }
            levels[streams] = {"rounds": [turn]}
    return levels


def _per_round(
    turns: Sequence[dict[str, Any]], figure: Callable[[dict[str, Any]], float | None]
) -> list[float | None]:
    out: list[float | None] = []
    for turn in turns:
        try:
            out.append(figure(turn))
        except (KeyError, TypeError, ZeroDivisionError):
            out.append(None)
    return out


def overhead_targets(overhead: dict[str, Any]) -> list[Target]:
    """The gateway on the mock backend against the bare app, and its Messages route against
    its chat route, per round."""
    turns = overhead.get("rounds", [])
    if not turns:
        return []
    cpu = _cpu(turns)

    def figure(side: str, key: str, *path: str) -> Callable[[dict[str, Any]], Any]:
        def read(turn: dict[str, Any]) -> Any:
            value = turn[side][key]
            for step in path:
                value = value[step]
            return value

        return read

    def ratio(a: Callable[[Any], Any], b: Callable[[Any], Any]) -> list[float | None]:
        return _per_round(turns, lambda t: a(t) / b(t))

    rps = ("plain c=32", "rps")
    p50 = ("plain c=1", "latency_ms", "p50")
    event = ("stream c=32", "cpu_us_per_event")
    request = ("plain c=32", "cpu_us_per_request")
    return [
        Target(
            "overhead: plain requests/s at 32 users, gateway / bare app",
            ratio(figure("gateway", *rps), figure("bare", *rps)),
            ">=",
            0.3,
            other_cpu=cpu,
        ),
        Target(
            "overhead: added median latency at 1 user (gateway - bare app)",
            _per_round(turns, lambda t: figure("gateway", *p50)(t) - figure("bare", *p50)(t)),
            "<",
            0.25,
            unit=" ms",
            digits=3,
            other_cpu=cpu,
        ),
        Target(
            "overhead: worker CPU per SSE event at 32 users, gateway / bare app",
            ratio(figure("gateway", *event), figure("bare", *event)),
            "<=",
            2,
            other_cpu=cpu,
        ),
        Target(
            "/v1/messages: worker CPU per request at 32 users, / chat's (within 10 %)",
            ratio(figure("messages", *request), figure("gateway", *request)),
            "<=",
            1.1,
            other_cpu=cpu,
        ),
        Target(
            "/v1/messages: worker CPU per SSE event at 32 users, / chat's (within 10 %)",
            ratio(figure("messages", *event), figure("gateway", *event)),
            "<=",
            1.1,
            other_cpu=cpu,
        ),
    ]


def embedding_targets(section: dict[str, Any]) -> list[Target]:
    """Batched embeddings at or ahead of llama-server `--embeddings` (when it ran), per
    interleaved round (a run before rounds: one round of the section's own figures)."""
    name = next((n for n in section if n.startswith("gateway")), None)
    if name is None or "llama-server" not in section:
        return []
    turns = section.get("rounds") or [section]
    counts = [n for n in sorted(section[name], key=int) if n in section["llama-server"]]
    return [
        Target(
            f"embeddings, {n} inputs: inputs/s, gateway / llama-server",
            _per_round(
                turns, lambda t, n=n: t[name][n]["inputs_s"] / t["llama-server"][n]["inputs_s"]
            ),
            ">=",
            1,
            other_cpu=_per_round(
                turns,
                lambda t, n=n: max(
                    t[name][n]["other_cpu_pct"], t["llama-server"][n]["other_cpu_pct"]
                ),
            ),
        )
        for n in counts
    ]


def rounds_table(section: dict[str, Any]) -> list[str]:
    """Every interleaved round against llama-server, then the median and min-max ratios."""
    servers = section.get("servers", {})
    out = [
        "",
        "## Against llama-server, interleaved rounds",
        "",
        f"The gateway ({servers.get('gateway', {}).get('description', '')}) and "
        f"llama-server ({servers.get('llama-server', {}).get('description', '')}) both up, "
        "measured in turns with the model rows' workload; who goes first alternates. Ratios "
        "are gateway / llama-server (tok/s: above 1 is better; TTFT: below 1 is better).",
        "",
        "| streams | round | first | gateway tok/s | llama-server tok/s | tok/s ratio "
        "| gateway TTFT p50 | llama-server TTFT p50 | TTFT ratio | other CPU |",
        "|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for streams, level in section.get("levels", {}).items():
        for index, turn in enumerate(level["rounds"], 1):
            ours, theirs = turn["gateway"], turn["llama-server"]
            out.append(
                f"| {streams} | {index} | {turn['order'][0]} | {ours['tok_s']:.1f} "
                f"| {theirs['tok_s']:.1f} | {_num(turn['tok_s_ratio'])} "
                f"| {_num(ours['ttft_ms']['p50'], 0)} | {_num(theirs['ttft_ms']['p50'], 0)} "
                f"| {_num(turn['ttft_p50_ratio'])} | {_num(turn['other_cpu_pct'], 0)} % |"
            )
        tok, ttft = level.get("tok_s_ratio"), level.get("ttft_p50_ratio")
        if tok and ttft:
            out.append(
                f"| {streams} | **median** | | | | **{tok['median']:.2f}** "
                f"({tok['min']:.2f} to {tok['max']:.2f}) | | "
                f"| **{ttft['median']:.2f}** ({ttft['min']:.2f} to {ttft['max']:.2f}) | |"
            )
    return out


def _num(value: float | None, digits: int = 2) -> str:
    return "-" if value is None else f"{value:,.{digits}f}"


def conversation_targets(section: dict[str, Any] | None) -> list[Target]:
    """Warm turns at or ahead of llama-server while every conversation has a slot; at half
    its TTFT or better when there are more conversations than slots (their history has to
    come back from somewhere cheaper than the prompt)."""
    if not section:
        return []
    slots = section["settings"]["slots"]
    found = []
    for count in section["settings"]["conversations"]:
        values = conversation_report.ratios(section, str(count), "ttft_warm_ms", "p50")
        if not values:
            continue
        bound = 1.0 if count <= slots else 0.5
        found.append(
            Target(
                f"conversations, {count} on {slots} slots: turns 2+ TTFT p50, gateway / "
                "llama-server (chat)",
                values,
                "<=",
                bound,
                other_cpu=conversation_report.other_cpu(section, str(count)),
            )
        )
    return found
