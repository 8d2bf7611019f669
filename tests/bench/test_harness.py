"""The benchmark harness keeps working: a brief run end to end, and its pure parts."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from bench import harness, procstat, profile, report, wrk
from bench.harness import SERVING, Plan

ROOT = Path(__file__).resolve().parents[2]


def test_a_brief_run_writes_the_page_and_sane_figures(tmp_path: Path) -> None:
    """One repetition, 8 connections, 1 s per target, a small data set: zero errors, real work."""
    argv = [
        sys.executable, "-m", "bench",
        "--repetitions", "1", "--duration", "1", "--connections", "8", "--warmup", "0",
        "--many-connections", "50", "--many-duration", "1", "--profile-duration", "1",
        "--citizens", "300", "--data-dir", str(tmp_path / "data"),
        "--work-dir", str(tmp_path / "work"), "--output-dir", str(tmp_path / "docs"),
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
    done = subprocess.run(
        argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=240, check=False
    )
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-4000:]

    figures = json.loads((tmp_path / "docs" / "benchmarks.json").read_text())
    runs = figures["runs"]
    assert sorted(r["target"] for r in runs) == ["direct", "faststream", "gateway", "peer"]
    for run in runs:
        assert run["requests"] > 0, run
        assert run["errors"] == 0, run
        assert 0 < run["p50_ms"] <= run["p99_ms"], run
        assert run["speed_probe_ms"] > 0, run
        for process in SERVING[run["target"]]:
            if process in run["cpu_seconds"]:
                assert run["cpu_seconds"][process] > 0, (process, run)
                assert run["peak_rss_mib"][process] > 1, (process, run)
    many = figures["many_connections"]
    assert many["requests"] > 0
    assert many["errors"] == 0
    ratios = figures["summary"]["ratios"]
    assert ratios["direct"]["8"]["rps"] == pytest.approx(1.0)
    assert ratios["gateway"]["8"]["rps"] > 0
    assert figures["machine"]["cores"] >= 1

    again = [sys.executable, "-m", "bench", "--render", *argv[argv.index("--work-dir") :]]
    rendered = subprocess.run(
        again, cwd=ROOT, env=env, capture_output=True, timeout=60, check=False
    )
    assert rendered.returncode == 0, rendered.stderr[-2000:]
    page = (tmp_path / "docs" / "benchmarks.md").read_text()
    assert "| 8 | gateway |" in page
    assert "| 8 | faststream |" in page
    assert "## Against the goals" in page
    assert "## Where the time goes" in page
    assert "| machine speed | a fixed Python loop took" in page


def test_lua_strings_carry_any_bytes() -> None:
    text = 'Nguyễn "x" \\ y\n'.encode()
    literal = wrk.lua_string(text)
    assert literal[0] == literal[-1] == '"'
    assert all(32 <= ord(c) < 127 for c in literal)
    pieces = re.findall(r"\\(\d{3})|([^\\])", literal[1:-1])
    assert bytes(int(code) if code else ord(char) for code, char in pieces) == text


def test_the_script_sets_the_request_and_reports_as_json() -> None:
    request = wrk.Request("http://127.0.0.1:1/x", {"A": "b"}, b"{}")
    script = wrk.script(request)
    assert 'wrk.method = "POST"' in script
    assert 'wrk.headers["A"] = "b"' in script
    assert wrk.MARKER in script


def test_this_process_cpu_and_memory_are_read_from_proc() -> None:
    pid = os.getpid()
    before = procstat.cpu_seconds(pid)
    sum(i * i for i in range(200_000))
    assert procstat.cpu_seconds(pid) >= before > 0
    assert procstat.rss_bytes(pid) > 0
    assert procstat.peak_rss_bytes(pid) > 0


def test_profile_summary_groups_self_time_by_component(tmp_path: Path) -> None:
    raw = tmp_path / "gateway.raw"
    raw.write_text(
        "process 1;main (gateway/cli/main.py);StreamWriter.write (asyncio/streams.py) 30\n"
        "process 1;main (gateway/cli/main.py);call_operation (gateway/http/operations.py);"
        "publish (aiormq/channel.py) 70\n"
    )
    summary = profile.summarise(raw)
    assert summary["samples"] == 100
    assert summary["self"][0] == {
        "frame": "publish (aiormq/channel.py)",
        "samples": 70,
        "percent": 70.0,
    }
    components = {row["frame"]: row["percent"] for row in summary["components"]}
    assert components["aiormq/pamqp (AMQP protocol)"] == 70.0
    assert components["socket writes (transport.write: send syscalls)"] == 30.0
    assert [row["frame"] for row in summary["ours"]] == [
        "call_operation (gateway/http/operations.py)"
    ]
    assert profile.summarise(tmp_path / "missing.raw")["samples"] == 0


def test_the_speed_probe_and_its_verdict() -> None:
    assert harness.speed_probe(tries=1) > 0
    steady = [{"speed_probe_ms": v} for v in (10.0, 10.5, 11.0)]
    assert report._speed(steady).endswith("steady")
    shaky = [{"speed_probe_ms": v} for v in (10.0, 20.0, 15.0)]
    assert "varied 2.0×" in report._speed(shaky)
    assert report._speed([{}]) == "not measured"


def test_the_library_floor_leaves_our_code_out(tmp_path: Path) -> None:
    raw = tmp_path / "worker.raw"
    raw.write_text(
        "process 1;main (gateway/cli/main.py);Worker._call (adapters/worker.py) 25\n"
        "process 1;main (gateway/cli/main.py);CoalescingTransport.flush (adapters/amqp.py) 25\n"
        "process 1;main (gateway/cli/main.py);ClientSession._request (aiohttp/client.py) 50\n"
    )
    worker = profile.summarise(raw) | {"cpu_us_per_request": 800.0}
    components = {row["frame"]: row["percent"] for row in worker["components"]}
    # The coalescing transport's flush is where the AMQP send system call happens.
    assert components["socket writes (transport.write: send syscalls)"] == 25.0
    idle = {"samples": 0}
    assert report.library_floor({"worker": worker, "gateway": idle}) == (25.0, 600.0)
    assert report.library_floor({"gateway": idle}) is None


def _run(target: str, rps: float, p50: float, cpu: dict[str, float]) -> dict[str, Any]:
    return {
        "target": target,
        "connections": 64,
        "rps": rps,
        "requests": int(rps * 10),
        "p50_ms": p50,
        "p99_ms": p50 * 3,
        "errors": 0,
        "cpu_us_per_request": cpu,
        "peak_rss_mib": dict.fromkeys(cpu, 50.0),
    }


def test_ratios_are_to_direct_at_the_same_connection_count() -> None:
    plan = Plan(repetitions=2, connections=(64,), many_connections=0)
    processes = {"mock": 100.0, "gateway": 200.0, "worker": 200.0, "broker": 100.0}
    runs = [
        _run("direct", 1000, 1.0, processes),
        _run("direct", 1200, 1.2, processes),
        _run("gateway", 300, 4.0, processes),
        _run("gateway", 250, 5.0, processes),
        _run("peer", 100, 8.0, processes),
        _run("peer", 100, 8.0, processes),
    ]
    summary = report.summarise({"runs": runs, "many_connections": None}, plan)
    gateway = summary["ratios"]["gateway"]["64"]
    assert gateway["rps"] == pytest.approx(275 / 1100)
    assert gateway["cpu_per_request"] == pytest.approx(600 / 100)  # mock+gateway+worker+broker
    goals = {g["key"]: g for g in summary["goals"]}
    assert goals["vs_peer"]["measured"] == pytest.approx(2.75)
    assert goals["vs_peer"]["met"] is True
    assert goals["cpu"]["met"] is True


def test_the_peer_goal_takes_the_better_of_the_two_peers() -> None:
    plan = Plan(repetitions=1, connections=(64,), many_connections=0)
    processes = {"mock": 100.0, "gateway": 200.0, "worker": 200.0, "broker": 100.0}
    runs = [
        _run("direct", 1000, 1.0, processes),
        _run("gateway", 300, 4.0, processes),
        _run("peer", 100, 8.0, processes),
        _run("faststream", 200, 6.0, processes),
    ]
    goal = next(
        g
        for g in report.summarise({"runs": runs, "many_connections": None}, plan)["goals"]
        if g["key"] == "vs_peer"
    )
    assert goal["measured"] == pytest.approx(1.5)  # 300 / the faststream peer's 200
    assert "(faststream)" in goal["goal"]


def _goal(
    key: str, name: str, measured: float, target: float, at_most: bool, unit: str
) -> dict[str, Any]:
    return {
        "key": key,
        "goal": name,
        "measured": measured,
        "target": target,
        "at_most": at_most,
        "unit": unit,
        "met": False,
    }


def test_unmet_targets_are_worked_out_from_the_run_s_own_figures() -> None:
    path = {"gateway": 800.0, "worker": 900.0, "broker": 700.0, "mock": 600.0}
    cells = {
        "gateway": {"64": {"rps": {"median": 500.0}, "cpu_us_per_request": path}},
        "peer": {"64": {"rps": {"median": 1000.0}, "cpu_us_per_request": {}}},
        "direct": {"64": {"rps": {"median": 5000.0}, "cpu_us_per_request": {}}},
    }
    ratios = {"peer": {"1": {"p50_added_ms": 3.0}}, "faststream": {"1": {"p50_added_ms": 4.0}}}
    goal_list = [
        _goal("cpu", "gateway + worker CPU per request, 64 connections", 1700, 500, True, "µs"),
        _goal("vs_peer", "gateway throughput / peer's, 64 connections", 0.5, 2, False, "×"),
        _goal("vs_direct", "gateway throughput / direct's, 64 connections", 0.1, 0.2, False, "×"),
        _goal("added_p50", "added p50 over direct, 1 connection", 6.0, 1, True, "ms"),
    ]
    worker = {
        "samples": 10,
        "cpu_us_per_request": 1800.0,  # while profiled; the floor reads the table's 900
        "components": [{"frame": "our code: adapters/", "percent": 50.0}],
    }
    gateway = {"samples": 10, "cpu_us_per_request": 800.0, "components": []}
    profiles = {"worker": worker, "gateway": gateway}
    text = "\n".join(report._budget_section(cells, ratios, goal_list, profiles))
    # 500 req/s × 3000 µs = 1.5 cores; 2× the peer (2000 req/s) leaves 750 µs per request.
    assert "used 1.50 cores" in text
    assert "allow 750 µs per request for every process together" in text
    assert "the broker and the mock alone take 1300" in text
    # 20 % of direct (1000 req/s) leaves 1500 µs; the floor is 800 + 450.
    assert "allow 1500 µs per request in all" in text
    assert "library floor of the gateway and the worker 1250" in text
    assert "would still spend 1250 µs" in text
    assert "the quicker peer (peer), with neither and no audit hop, adds 3.0 ms" in text
    met = [{**g, "met": True} for g in goal_list]
    assert "Every target above is met" in "\n".join(report._budget_section(cells, {}, met, {}))
