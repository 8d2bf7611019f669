"""The operator tools' pure parts: verdicts, the statistics window, masking, metrics, switches."""

from __future__ import annotations

from pathlib import Path

import pytest
from aiohttp import web
from hypothesis import given
from hypothesis import strategies as st
from prometheus_client import generate_latest
from prometheus_client.parser import text_string_to_metric_families

from adapters.errors import TransientError
from adapters.metrics import WorkerMetrics
from gateway.cli.ops import render_table
from gateway.ops import maintenance
from gateway.ops.dlq import mask_body
from gateway.ops.queues import SEVERITY, QueueFacts, Role, build_report, judge, merge_facts
from gateway.ops.servicestats import ServiceStats
from gateway.security.operator import cookie_value
from schemas.config import OpsSettings

OPS = OpsSettings(depth_warning=10, depth_critical=100, dead_letters_warning=1)


@pytest.mark.parametrize(
    ("role", "ready", "consumers", "verdict", "reasons"),
    [
        ("adapter", 0, 1, "ok", []),
        ("adapter", 0, 0, "critical", ["no consumers"]),
        ("adapter", 10, 2, "warning", ["depth 10 >= 10"]),
        ("adapter", 100, 2, "critical", ["depth 100 >= 100"]),
        ("adapter", 150, 0, "critical", ["no consumers", "depth 150 >= 100"]),
        ("dead-letter", 0, 0, "ok", []),
        ("dead-letter", 1, 0, "warning", ["1 dead letters present"]),
        ("dead-letter", 100, 0, "critical", ["100 dead letters >= 100"]),
        ("audit", 0, 0, "ok", []),
        ("audit", 3, 0, "warning", ["audit backlog with no audit writer"]),
        ("audit", 3, 1, "ok", []),
        ("audit", 100, 1, "critical", ["audit backlog 100 >= 100"]),
    ],
)
def test_verdict_names_the_threshold_it_crossed(
    role: Role, ready: int, consumers: int, verdict: str, reasons: list[str]
) -> None:
    assert judge(role, ready, consumers, OPS) == (verdict, reasons)


@given(
    role=st.sampled_from(["adapter", "dead-letter", "audit"]),
    ready=st.integers(0, 10_000),
    more=st.integers(0, 10_000),
    consumers=st.integers(0, 5),
)
def test_a_deeper_queue_is_never_judged_healthier(
    role: Role, ready: int, more: int, consumers: int
) -> None:
    shallow, _ = judge(role, ready, consumers, OPS)
    deep, _ = judge(role, ready + more, consumers, OPS)
    assert SEVERITY[deep] >= SEVERITY[shallow]


def test_report_marks_missing_queues_critical_and_takes_the_worst_verdict() -> None:
    facts = {"lgsp.requests.a": QueueFacts("lgsp.requests.a", 0, 1)}
    report = build_report("amqp", facts, ["a", "b"], OPS)
    verdicts = {q.name: (q.verdict, q.reasons) for q in report.queues}
    assert verdicts["lgsp.requests.a"] == ("ok", [])
    assert verdicts["lgsp.requests.b"] == ("critical", ["missing"])
    assert report.verdict == "critical"
    table = render_table(report)
    line = next(x for x in table.splitlines() if x.startswith("lgsp.requests.b"))
    assert line.split()[1:3] == ["CRITICAL", "0"]
    assert "overall CRITICAL · facts from amqp" in table


def test_live_counts_win_over_the_management_apis_lagging_ones() -> None:
    management = {"q": QueueFacts("q", 5, 0, unacked=2, publish_rate=1.5, deliver_rate=0.5)}
    live = {"q": QueueFacts("q", 7, 1)}
    assert merge_facts(management, live) == {"q": QueueFacts("q", 7, 1, 2, 1.5, 0.5)}
    assert merge_facts(management, None) == management


def test_service_statistics_cover_the_window_only() -> None:
    now = [1_000.0]
    stats = ServiceStats(window_seconds=600, clock=lambda: now[0])
    stats.record("population", "citizen-verify", 200, 0.010)
    stats.record("population", "citizen-verify", 502, 0.300)
    stats.record("population", "citizen-verify", 404, 0.020)
    (entry,) = stats.snapshot()
    assert (entry["successes"], entry["failures"], entry["rejected"]) == (1, 1, 1)
    assert (entry["min_ms"], entry["avg_ms"], entry["max_ms"]) == (10.0, 110.0, 300.0)
    assert entry["last_success"] == "1970-01-01T00:16:40+00:00"
    assert entry["last_failure"] == "1970-01-01T00:16:40+00:00"

    now[0] += 599
    stats.record("population", "citizen-verify", 200, 0.050)
    (entry,) = stats.snapshot()
    assert entry["successes"] == 2
    now[0] += 2  # the first second has left the window
    (entry,) = stats.snapshot()
    assert (entry["successes"], entry["failures"], entry["min_ms"], entry["max_ms"]) == (
        1,
        0,
        50.0,
        50.0,
    )
    assert entry["last_failure"] is not None  # the last failure is remembered beyond it
    now[0] += 700
    (entry,) = stats.snapshot()
    assert (entry["successes"], entry["avg_ms"]) == (0, None)


def test_masking_dead_letter_bodies_by_key_and_by_shape() -> None:
    body = {
        "personal_id": "001099012345",
        "full_name": "Trần Thị Bình",
        "date_of_birth": "1990-01-02",
        "nested": [{"father_name": "Trần Văn C", "note": "call 0912345678"}],
        "mode": "ok",
    }
    assert mask_body(body) == {
        "personal_id": "***",
        "full_name": "***",
        "date_of_birth": "***",
        "nested": [{"father_name": "***", "note": "call ***"}],
        "mode": "ok",
    }


def test_the_dashboard_cookie_is_not_the_token() -> None:
    assert cookie_value("secret-token") == cookie_value("secret-token")
    assert "secret-token" not in cookie_value("secret-token")
    assert cookie_value("secret-token") != cookie_value("other-token")


def sample(metrics: WorkerMetrics, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(generate_latest(metrics.registry).decode()):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


async def test_worker_metrics_time_every_attempt_and_count_retries() -> None:
    metrics = WorkerMetrics("population", ["citizen-verify"])
    calls = 0

    async def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise TransientError("again")
        return "done"

    attempt = metrics.attempts("citizen-verify", flaky)
    for _ in range(2):
        with pytest.raises(TransientError):
            await attempt()
    assert await attempt() == "done"
    labels = {"adapter": "population", "operation": "citizen-verify"}
    assert sample(metrics, "lgsp_worker_retries_total", **labels) == 2
    assert sample(metrics, "lgsp_worker_central_call_seconds_count", **labels) == 3

    metrics.started()
    metrics.finished("population/no-such-thing", "unknown-operation")
    metrics.started()
    metrics.finished("population/citizen-verify", None)
    assert sample(metrics, "lgsp_worker_messages_total", operation="unknown") == 1
    assert sample(metrics, "lgsp_worker_messages_total", status="unfinished") == 1
    assert sample(metrics, "lgsp_worker_in_flight") == 0


def test_maintenance_flag_round_trip(tmp_path: Path) -> None:
    flag = tmp_path / "var" / "maintenance"
    check = maintenance.readiness_check(flag)
    app = web.Application()
    assert maintenance.status(flag)["maintenance"] is False
    assert check(app)[0] is True
    state = maintenance.switch(flag, True, "disk swap")
    assert (state["maintenance"], state["reason"]) == (True, "disk swap")
    assert check(app) == (False, "maintenance mode (lgsp maintenance off ends it)")
    assert maintenance.switch(flag, False)["maintenance"] is False
    assert not flag.exists()
    flag.write_text("not json")  # written by hand: still maintenance
    assert maintenance.status(flag)["maintenance"] is True


def test_the_cli_has_the_operator_commands() -> None:
    from gateway.cli.main import build_parser

    parser = build_parser()
    replay = parser.parse_args(["dlq", "replay", "--all"])
    assert (replay.action, replay.all, replay.ids) == ("replay", True, [])
    purge = parser.parse_args(["dlq", "purge", "abc", "def", "--yes"])
    assert (purge.ids, purge.yes) == (["abc", "def"], True)
    assert parser.parse_args(["queues", "--watch"]).watch is True
    assert parser.parse_args(["maintenance", "on"]).action == "on"
    assert (
        parser.parse_args(["worker", "population", "--metrics-port", "9410"]).metrics_port == 9410
    )


def test_make_run_prints_the_dashboard_address_with_a_sign_in_token() -> None:
    from gateway.cli.examples import dashboard_lines

    lines = dashboard_lines("http://127.0.0.1:8080", "tok")
    assert "Operator dashboard: http://127.0.0.1:8080/ops?token=tok" in lines
    assert "lgsp init --force" in dashboard_lines("http://127.0.0.1:8080", "")
