"""From runs to figures: medians and ranges, ratios to *direct*, the goals, and the Markdown page.

Every figure of a target is put beside the same figure of *direct* measured
in the same session and the same connection count: absolute numbers depend on
the machine and on whatever else ran on it, ratios much less so. The JSON file
keeps every run and every absolute figure; the page shows ratios first.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from typing import Any

from bench.harness import PEERS, SERVING, Plan

# The lead's goals (issue 6); the page says for each whether this run met it.
GOAL_CPU_US = 500.0  # gateway + worker CPU per request at 64 connections
GOAL_VS_PEER = 2.0  # gateway throughput / the better peer's throughput at 64 connections
GOAL_VS_DIRECT = 0.2  # gateway throughput / direct throughput at 64 connections
GOAL_ADDED_P50_MS = 1.0  # gateway p50 - direct p50 at 1 connection
GOAL_RSS_MIB = 150.0  # gateway peak RSS with many connections open


def spread(values: Iterable[float]) -> dict[str, float]:
    data = list(values)
    if not data:
        return {"median": 0.0, "min": 0.0, "max": 0.0}
    return {"median": statistics.median(data), "min": min(data), "max": max(data)}


def _ratio(a: float, b: float) -> float | None:
    return a / b if b else None


def cell(runs: list[dict[str, Any]], target: str) -> dict[str, Any]:
    serving = [p for p in SERVING[target] if p in runs[0]["cpu_us_per_request"]]
    totals = [sum(r["cpu_us_per_request"][p] for p in serving) for r in runs]
    return {
        "runs": len(runs),
        "rps": spread(r["rps"] for r in runs),
        "p50_ms": spread(r["p50_ms"] for r in runs),
        "p99_ms": spread(r["p99_ms"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        "requests": sum(r["requests"] for r in runs),
        "cpu_us_per_request": {
            p: statistics.median(r["cpu_us_per_request"][p] for r in runs) for p in serving
        },
        "cpu_us_per_request_total": spread(totals),
        "peak_rss_mib": {p: max(r["peak_rss_mib"][p] for r in runs) for p in serving},
    }


def better_peer(cells: dict[str, dict[str, Any]], connections: str = "64") -> str | None:
    """The peer with the higher median throughput at `connections`; None if none ran."""
    ran = [p for p in PEERS if connections in cells.get(p, {})]
    return max(ran, key=lambda p: cells[p][connections]["rps"]["median"], default=None)


def summarise(result: dict[str, Any], plan: Plan) -> dict[str, Any]:
    cells: dict[str, dict[str, Any]] = {}
    for target in plan.targets:
        for connections in plan.connections:
            runs = [
                r
                for r in result["runs"]
                if r["target"] == target and r["connections"] == connections
            ]
            if runs:
                cells.setdefault(target, {})[str(connections)] = cell(runs, target)
    ratios: dict[str, dict[str, Any]] = {}
    direct = cells.get("direct", {})
    for target, by_c in cells.items():
        for c, figures in by_c.items():
            base = direct.get(c)
            if base is None:
                continue
            ratios.setdefault(target, {})[c] = {
                "rps": _ratio(figures["rps"]["median"], base["rps"]["median"]),
                "p50": _ratio(figures["p50_ms"]["median"], base["p50_ms"]["median"]),
                "p99": _ratio(figures["p99_ms"]["median"], base["p99_ms"]["median"]),
                "cpu_per_request": _ratio(
                    figures["cpu_us_per_request_total"]["median"],
                    base["cpu_us_per_request_total"]["median"],
                ),
                "p50_added_ms": figures["p50_ms"]["median"] - base["p50_ms"]["median"],
            }
    return {"cells": cells, "ratios": ratios, "goals": goals(cells, ratios, result)}


def goals(
    cells: dict[str, dict[str, Any]], ratios: dict[str, dict[str, Any]], result: dict[str, Any]
) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []

    def add(
        key: str, name: str, measured: float | None, goal: float, at_most: bool, unit: str
    ) -> None:
        met = None if measured is None else (measured <= goal if at_most else measured >= goal)
        out.append(
            {
                "key": key,
                "goal": name,
                "measured": measured,
                "target": goal,
                "at_most": at_most,
                "unit": unit,
                "met": met,
            }
        )

    gw64 = cells.get("gateway", {}).get("64")
    if gw64 is not None:
        cpu = gw64["cpu_us_per_request"]
        both = cpu.get("gateway", 0.0) + cpu.get("worker", 0.0)
        add(
            "cpu", "gateway + worker CPU per request, 64 connections", both, GOAL_CPU_US, True, "µs"
        )
        best = better_peer(cells)
        if best is not None:
            vs_peer = _ratio(gw64["rps"]["median"], cells[best]["64"]["rps"]["median"])
            add(
                "vs_peer",
                f"gateway throughput / the better peer's ({best}), 64 connections",
                vs_peer,
                GOAL_VS_PEER,
                False,
                "×",
            )
        vs_direct = ratios.get("gateway", {}).get("64", {}).get("rps")
        add(
            "vs_direct",
            "gateway throughput / direct's, 64 connections",
            vs_direct,
            GOAL_VS_DIRECT,
            False,
            "×",
        )
    gw1 = ratios.get("gateway", {}).get("1")
    if gw1 is not None:
        added = gw1["p50_added_ms"]
        add(
            "added_p50", "added p50 over direct, 1 connection", added, GOAL_ADDED_P50_MS, True, "ms"
        )
    errors = sum(c["errors"] for c in cells.get("gateway", {}).values())
    add("errors", "gateway errors, every connection count", float(errors), 0.0, True, "")
    many = result.get("many_connections")
    if many is not None:
        n = many["connections"]
        add("many_errors", f"gateway errors, {n} connections", float(many["errors"]), 0.0, True, "")
        rss = many["peak_rss_mib"]["gateway"]
        add("many_rss", f"gateway peak RSS, {n} connections", rss, GOAL_RSS_MIB, True, "MiB")
    return out


# -- the page ------------------------------------------------------------------------------------


def _x(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _range(s: dict[str, float], digits: int = 2) -> str:
    return f"{s['median']:.{digits}f} ({s['min']:.{digits}f}–{s['max']:.{digits}f})"


def _measured(goal: dict[str, Any]) -> str:
    value = goal["measured"]
    if value is None:
        return "–"
    return f"{value:.2f} {goal['unit']}".strip() if goal["unit"] != "" else f"{value:.0f}"


def markdown(
    summary: dict[str, Any], result: dict[str, Any], plan: Plan, meta: dict[str, Any]
) -> str:
    machine = meta["machine"]
    cells, ratios = summary["cells"], summary["ratios"]
    lines = [
        "# Benchmarks",
        "",
        "Generated by `make bench` (`python -m bench`); every figure, run by run, is in",
        "[benchmarks.json](benchmarks.json). Figures are **ratios to _direct_** (wrk straight to",
        "the population mock's SOAP endpoint) measured in the same session at the same",
        "connection count; absolute numbers are shown beside them only to read the ratios by.",
        "They describe this machine on this day, which other people's work shared: compare",
        "ratios between runs, not absolute numbers.",
        "",
        "| | |",
        "|---|---|",
        f"| date | {machine['date']} |",
        f"| commit | {machine['commit']} |",
        f"| CPU | {machine['cpu_model']}, {machine['cores']} cores |",
        f"| memory | {machine['memory_gib']} GiB |",
        f"| kernel / OS | {machine['kernel']} / {machine['os']} |",
        f"| Python | {machine['python']} |",
        f"| RabbitMQ | {machine['rabbitmq']} (private node, default settings) |",
        f"| load generator | {machine['wrk']}, {plan.threads} thread(s), on the same machine |",
        "| libraries | " + ", ".join(f"{k} {v}" for k, v in machine["packages"].items()) + " |",
        f"| plan | {plan.repetitions} repetitions × {len(plan.targets)} targets × connections "
        f"{', '.join(map(str, plan.connections))}, {plan.duration:g} s each, interleaved |",
        f"| other load | {_noise(result['runs'], machine['cores'])} |",
        f"| machine speed | {_speed(result['runs'])} |",
        f"| data set | {meta['data']} |",
        f"| auth | {meta['auth']} |",
        f"| audit | {meta['audit']} |",
        "",
        "**Targets.** *direct*: the mock alone. *gateway*: `POST /v1/population/citizen-verify`",
        "with a bearer token, the purpose-trail headers and JSON body, through the gateway,",
        "RabbitMQ and the population worker to the same mock. *peer* and *faststream*: the",
        "same call through what an integrator would write instead, each as its library's",
        "documentation shows (bench/peers: aiohttp + aio-pika's `JsonRPC`, and aiohttp +",
        "FastStream's RabbitMQ `broker.request` answered by a subscriber; uvloop, one",
        "`ClientSession`, no access log, the same XML mapping; no auth or audit). Goals that",
        "compare with a peer take the better of the two.",
        "",
        "## Throughput and latency",
        "",
        "Medians of the repetitions, (min–max) of the repetitions beside them.",
        "",
        "| connections | target | throughput vs direct | p50 vs direct | p99 vs direct "
        "| CPU/request vs direct | errors | req/s | p50 ms | p99 ms |",
        "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for c in map(str, plan.connections):
        for target in plan.targets:
            figures = cells.get(target, {}).get(c)
            if figures is None:
                continue
            r = ratios.get(target, {}).get(c, {})
            lines.append(
                f"| {c} | {target} | {_x(r.get('rps'))} | {_x(r.get('p50'))} | {_x(r.get('p99'))}"
                f" | {_x(r.get('cpu_per_request'))} | {figures['errors']}"
                f" | {_range(figures['rps'], 0)} | {_range(figures['p50_ms'])}"
                f" | {_range(figures['p99_ms'])} |"
            )
    lines += _cpu_section(cells, plan)
    lines += _goals_section(summary["goals"])
    lines += _many_section(result.get("many_connections"))
    profiled = cells.get("gateway", {}).get(str(plan.profile_connections), {})
    lines += _profile_section(result.get("profiles") or {}, profiled.get("cpu_us_per_request"))
    lines += _budget_section(cells, ratios, summary["goals"], result.get("profiles") or {})
    lines += [
        "",
        "## Reproducing",
        "",
        "`make bench` installs wrk, starts a private RabbitMQ node and the stack on free ports,",
        "runs the plan above and rewrites this page. `python -m bench --quick` is a short run;",
        "`python -m bench --help` lists the options (durations, connections, repetitions,",
        "data-set size).",
        "",
    ]
    return "\n".join(lines)


def _noise(runs: list[dict[str, Any]], cores: int) -> str:
    others = [r["others_busy_cores"] for r in runs if "others_busy_cores" in r]
    if not others:
        return "not measured"
    s = spread(others)
    return (
        f"processes outside the benchmark kept {s['median']:.2f} of {cores} cores busy "
        f"(median of the runs; {s['min']:.2f}–{s['max']:.2f}), from /proc/stat"
    )


def _speed(runs: list[dict[str, Any]]) -> str:
    probes = [r["speed_probe_ms"] for r in runs if "speed_probe_ms" in r]
    if not probes:
        return "not measured"
    s = spread(probes)
    varied = s["max"] / s["min"] if s["min"] > 0 else 1.0
    verdict = (
        "steady"
        if varied < 1.25
        else f"it varied {varied:.1f}×: compare ratios within this run, not absolute figures"
    )
    return (
        f"a fixed Python loop took {s['median']:.1f} ms before each run "
        f"({s['min']:.1f}–{s['max']:.1f}); {verdict}"
    )


def _headline(summary: dict[str, Any]) -> str:
    parts = ", ".join(f"{row['frame']} {row['percent']:.0f}%" for row in summary["components"][:4])
    ours = ", ".join(
        f"`{row['frame'].split(' (')[0]}` {row['percent']:.0f}%" for row in summary["ours"][:6]
    )
    return f"by component: {parts}; our functions, inclusive: {ours}"


def _cpu_section(cells: dict[str, dict[str, Any]], plan: Plan) -> list[str]:
    processes = (
        "gateway",
        "worker",
        "audit-writer",
        "peer-front",
        "peer-worker",
        "faststream-front",
        "faststream-worker",
        "broker",
        "mock",
    )
    measured = {
        p for by_c in cells.values() for c in by_c.values() for p in c["cpu_us_per_request"]
    }
    seen = [p for p in processes if p in measured]
    lines = [
        "",
        "## CPU per request, by process",
        "",
        "CPU time (user + system, from /proc/<pid>/stat) used during the run divided by the",
        "requests served, in µs, medians of the repetitions; the broker is RabbitMQ's",
        "`beam.smp`. The last column is the sum as a ratio to *direct*'s (the mock alone).",
        "",
        "| connections | target | " + " | ".join(seen) + " | total | vs direct |",
        "|---:|---|" + "---:|" * (len(seen) + 2),
    ]
    for c in map(str, plan.connections):
        base = cells.get("direct", {}).get(c)
        for target in plan.targets:
            figures = cells.get(target, {}).get(c)
            if figures is None:
                continue
            per = figures["cpu_us_per_request"]
            total = figures["cpu_us_per_request_total"]["median"]
            vs = _ratio(total, base["cpu_us_per_request_total"]["median"]) if base else None
            row = " | ".join(f"{per[p]:.0f}" if p in per else "" for p in seen)
            lines.append(f"| {c} | {target} | {row} | {total:.0f} | {_x(vs)} |")
    lines += [
        "",
        "Peak resident memory (VmHWM, reset before each run), the largest of the repetitions, MiB:",
        "",
        "| connections | target | " + " | ".join(seen) + " |",
        "|---:|---|" + "---:|" * len(seen),
    ]
    for c in map(str, plan.connections):
        for target in plan.targets:
            figures = cells.get(target, {}).get(c)
            if figures is None:
                continue
            rss = figures["peak_rss_mib"]
            row = " | ".join(f"{rss[p]:.0f}" if p in rss else "" for p in seen)
            lines.append(f"| {c} | {target} | {row} |")
    return lines


def _goals_section(goal_list: list[dict[str, Any]]) -> list[str]:
    lines = [
        "",
        "## Against the goals",
        "",
        "| goal | measured | target | met |",
        "|---|---:|---:|---|",
    ]
    for g in goal_list:
        bound = ("≤ " if g["at_most"] else "≥ ") + (
            f"{g['target']:g} {g['unit']}".strip() if g["unit"] else f"{g['target']:g}"
        )
        met = {True: "yes", False: "**no**", None: "–"}[g["met"]]
        lines.append(f"| {g['goal']} | {_measured(g)} | {bound} | {met} |")
    return lines


def _many_section(many: dict[str, Any] | None) -> list[str]:
    if many is None:
        return []
    rss = many["peak_rss_mib"]
    return [
        "",
        f"## {many['connections']} open connections",
        "",
        f"wrk holds {many['connections']} connections open to the gateway for "
        f"{many['duration_s']:.0f} s, each sending requests back to back: "
        f"**{many['errors']} errors** (connect {many['errors_connect']}, read "
        f"{many['errors_read']}, write {many['errors_write']}, timeout {many['errors_timeout']}, "
        f"non-2xx {many['errors_status']}), {many['requests']} requests, p50 "
        f"{many['p50_ms']:.0f} ms, p99 {many['p99_ms']:.0f} ms; gateway peak RSS "
        f"**{rss['gateway']:.0f} MiB**, worker {rss.get('worker', 0):.0f} MiB, broker "
        f"{rss.get('broker', 0):.0f} MiB.",
    ]


def _profile_section(profiles: dict[str, Any], cpu: dict[str, float] | None) -> list[str]:
    if not profiles:
        return []
    any_profile = next(iter(profiles.values()))
    lines = [
        "",
        "## Where the time goes",
        "",
        f"py-spy sampled the gateway and the worker at {any_profile['rate_hz']} Hz while the",
        f"gateway served {any_profile['connections']} connections "
        f"({any_profile['load_rps']:.0f} req/s under the profiler). py-spy leaves sleeping",
        "threads out, so shares are of the time each process was running or runnable; on a",
        "machine whose cores are all busy, runnable includes waiting for a core. *Self* is time",
        "in the function itself (C code below a Python frame counts as that frame's: the socket",
        "send of `transport.write` shows as the writer's); components group self time by the",
        "package of the code; *our functions, inclusive* are ours with everything they call.",
        "",
        "Top costs in one line each:",
        "",
    ]
    lines += [
        f"- **{name}** ({summary['cpu_us_per_request']:.0f} µs CPU per request): "
        + _headline(summary)
        for name, summary in profiles.items()
        if summary["samples"]
    ]
    floor = library_floor(profiles, cpu)
    if floor is not None:
        ours, rest = floor
        lines += [
            "",
            f"Our own code (self time in gateway/, adapters/, schemas/) is {ours:.0f} % of these "
            "samples. Were it free, the gateway and the worker would still spend about "
            f"**{rest:.0f} µs per request** (these shares applied to their CPU per request in "
            "the table above) in the libraries, the event loop and the kernel: the HTTP server "
            "and client, the AMQP client, system calls.",
        ]
    for name, summary in profiles.items():
        if not summary["samples"]:
            lines += ["", f"### {name}", "", "No samples (py-spy could not attach)."]
            continue
        lines += [
            "",
            f"### {name}",
            "",
            f"{summary['samples']} samples; the process used {summary['cpu_seconds']:.1f} CPU-s in "
            f"{summary['duration_s']:.0f} s ({summary['cpu_us_per_request']:.0f} µs per request).",
            "",
        ]
        lines += ["| component | self % |", "|---|---:|"]
        lines += [
            f"| {row['frame']} | {row['percent']:.1f} |" for row in summary["components"][:10]
        ]
        lines += ["", "| top functions, self | % | our functions, inclusive | % |"]
        lines += ["|---|---:|---|---:|"]
        for own, incl in zip(summary["self"][:12], summary["ours"][:12], strict=False):
            lines.append(
                f"| `{own['frame']}` | {own['percent']:.1f} | `{incl['frame']}` | "
                f"{incl['percent']:.1f} |"
            )
    return lines


def library_floor(
    profiles: dict[str, Any], cpu: dict[str, float] | None = None
) -> tuple[float, float] | None:
    """(our code's share of the samples in %, the µs per request left without it) over the
    profiled processes; None without samples.

    `cpu` gives each process's CPU per request to apply the shares to (the medians of the
    measured runs, so that the floor reads against the figures in the tables); without it,
    the CPU measured while profiling.
    """
    total = rest = ours_us = 0.0
    for name, summary in profiles.items():
        if not summary.get("samples"):
            continue
        share = sum(
            row["percent"]
            for row in summary["components"]
            if str(row["frame"]).startswith("our code:")
        )
        used = float(cpu[name]) if cpu and name in cpu else float(summary["cpu_us_per_request"])
        total += used
        ours_us += used * share / 100
        rest += used * (1 - share / 100)
    if total == 0:
        return None
    return 100 * ours_us / total, rest


def _budget_section(
    cells: dict[str, dict[str, Any]],
    ratios: dict[str, dict[str, Any]],
    goal_list: list[dict[str, Any]],
    profiles: dict[str, Any],
) -> list[str]:
    """For each goal not met, what this run's own figures say it would take."""
    lines = ["", "## What would meet the targets", ""]
    unmet = [g for g in goal_list if g["met"] is False]
    if not unmet:
        return [*lines, "Every target above is met in this run."]
    gw = cells.get("gateway", {}).get("64")
    cpu: dict[str, float] = gw["cpu_us_per_request"] if gw else {}
    total = sum(cpu.values())
    cores = gw["rps"]["median"] * total / 1e6 if gw else 0.0
    broker_mock = cpu.get("broker", 0.0) + cpu.get("mock", 0.0)
    floor = library_floor(profiles, cpu)
    lines += [
        "Worked out from this run's own figures (64 connections unless said; CPU per request",
        f"in µs). On the gateway's path the processes used {cores:.2f} cores in all, and on a",
        "machine whose cores they share, throughput is those cores divided by the sum of",
        "every process's CPU per request.",
        "",
    ]
    for goal in unmet:
        key = goal.get("key")
        said = f"- **{goal['goal']}**: {_measured(goal)}, target {'≤' if goal['at_most'] else '≥'} "
        said += f"{goal['target']:g} {goal['unit']}".rstrip() + ". "
        if key == "cpu" and floor is not None:
            said += (
                f"Were our own code free, the gateway and the worker would still spend "
                f"{floor[1]:.0f} µs in the libraries, the event loop and the kernel (the profile "
                "above): under the target only with a leaner AMQP and HTTP stack."
            )
        elif key == "vs_peer" and gw:
            best = better_peer(cells)
            peer = cells[best]["64"] if best is not None else None
            if peer:
                budget = cores * 1e6 / (goal["target"] * peer["rps"]["median"])
                said += (
                    f"At {goal['target']:g}× the better peer's ({best}) "
                    f"{peer['rps']['median']:.0f} req/s, "
                    f"{cores:.2f} cores allow {budget:.0f} µs per request for every process "
                    f"together; the broker and the mock alone take {broker_mock:.0f}."
                )
        elif key == "vs_direct" and gw:
            direct = cells.get("direct", {}).get("64")
            if direct:
                budget = cores * 1e6 / (goal["target"] * direct["rps"]["median"])
                said += (
                    f"At {goal['target']:g} × direct's {direct['rps']['median']:.0f} req/s, "
                    f"{cores:.2f} cores allow {budget:.0f} µs per request in all; the broker "
                    f"and the mock take {broker_mock:.0f}"
                    + (
                        f", and the library floor of the gateway and the worker {floor[1]:.0f}."
                        if floor is not None
                        else "."
                    )
                )
        elif key == "added_p50":
            added = {p: ratios[p]["1"]["p50_added_ms"] for p in PEERS if "1" in ratios.get(p, {})}
            quickest = min(added, key=added.__getitem__, default=None)
            said += (
                "Two quorum-queue commits are on the critical path by design (the durable "
                "request; the audit record before any personal data leaves)"
                + (
                    f"; the quicker peer ({quickest}), with neither and no audit hop, adds "
                    f"{added[quickest]:.1f} ms."
                    if quickest is not None
                    else "."
                )
            )
        lines.append(said)
    lines += [
        "",
        "[performance.md](performance.md) reads these figures: a request hop by hop, what was",
        "changed on the strength of the profiles, and what would close the gap.",
    ]
    return lines
