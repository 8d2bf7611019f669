"""Rate-limit usage folded from peers, and service statistics summed over gateways."""

from __future__ import annotations

import pytest

from gateway.ops.cluster import merge_services
from gateway.problems import ProblemError
from gateway.security.ratelimit import RateLimiter
from schemas.security import RateLimit


def test_what_peers_let_through_is_taken_from_this_processs_bucket() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    limit = RateLimit(rate=1.0, burst=5)
    limiter.check("c", limit)  # 4 tokens left here
    limiter.fold("gateway@other:1", {"c": 4})  # a peer let 4 through meanwhile
    with pytest.raises(ProblemError) as refused:
        limiter.check("c", limit)
    assert refused.value.problem.status == 429
    assert limiter.usage() == {"c": 1}  # what this process reports: its own, once
    assert limiter.usage() == {}


def test_a_peers_debt_is_paid_from_later_refills() -> None:
    now = [0.0]
    limiter = RateLimiter(clock=lambda: now[0])
    limit = RateLimit(rate=10.0, burst=10)
    limiter.fold("peer", {"c": 15})  # before this process ever saw the client
    with pytest.raises(ProblemError):
        limiter.check("c", limit)  # 10 - 15 = -5 tokens
    now[0] = 0.55  # +5.5 tokens: 0.5, still under one
    with pytest.raises(ProblemError):
        limiter.check("c", limit)
    now[0] = 0.65
    limiter.check("c", limit)


def test_malformed_peer_figures_are_ignored() -> None:
    limiter = RateLimiter(clock=lambda: 0.0)
    limiter.fold("peer", ["not", "a", "dict"])
    limiter.fold("peer", {"c": "many", "d": -3})
    limiter.check("c", RateLimit(rate=1.0, burst=1))


def entry(successes: int, failures: int, avg: float | None, **more: object) -> dict[str, object]:
    return {
        "adapter": "population",
        "operation": "citizen-verify",
        "window_seconds": 600,
        "successes": successes,
        "failures": failures,
        "rejected": 0,
        "min_ms": avg,
        "avg_ms": avg,
        "max_ms": avg,
        "last_success": None,
        "last_failure": None,
        **more,
    }


def test_service_statistics_of_several_gateways_are_summed_latencies_weighted() -> None:
    merged = merge_services(
        [
            [entry(3, 1, 10.0, last_success="2026-12-01T10:00:00+00:00")],
            [entry(1, 0, 50.0, last_success="2026-12-01T10:00:05+00:00")],
            [],
        ]
    )
    assert len(merged) == 1
    (m,) = merged
    assert (m["successes"], m["failures"]) == (4, 1)
    assert m["avg_ms"] == 18.0  # (4 x 10 + 1 x 50) / 5
    assert (m["min_ms"], m["max_ms"]) == (10.0, 50.0)
    assert m["last_success"] == "2026-12-01T10:00:05+00:00"
