"""The circuit breaker's state machine, and the retry policy that asks it before every attempt.

A fake clock drives the breaker and a fake sleep advances it, so nothing here waits.
"""

from __future__ import annotations

import time

import pytest
import structlog

from adapters.breaker import BreakerState, CircuitBreaker
from adapters.central import parse_retry_after
from adapters.errors import CentralUnavailable, RecordNotFound, TransientError
from adapters.retry import call_with_retry
from schemas.config import BreakerSettings, RetrySettings

LOG = structlog.get_logger("test")
SETTINGS = BreakerSettings(
    failure_threshold=3, window=10, error_rate=0.5, min_calls=6, cool_down=5, max_retry_after=30
)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.now += seconds


def breaker(
    settings: BreakerSettings = SETTINGS,
) -> tuple[CircuitBreaker, Clock, list[tuple[BreakerState, BreakerState]]]:
    clock = Clock()
    seen: list[tuple[BreakerState, BreakerState]] = []
    return (
        CircuitBreaker(
            "population", settings, clock=clock, on_transition=lambda a, b: seen.append((a, b))
        ),
        clock,
        seen,
    )


def state(b: CircuitBreaker) -> BreakerState:
    """Read afresh each time (a property mypy would otherwise narrow across assertions)."""
    return b.state


def fail(b: CircuitBreaker, n: int = 1, retry_after: float | None = None) -> None:
    for _ in range(n):
        b.failed(b.admit(), retry_after)


def succeed(b: CircuitBreaker, n: int = 1) -> None:
    for _ in range(n):
        b.succeeded(b.admit())


def test_failures_in_a_row_open_it_and_calls_then_fail_fast_with_the_time_left() -> None:
    b, clock, seen = breaker()
    fail(b, 2)
    succeed(b)  # a success breaks the run
    fail(b, 2)
    assert state(b) is BreakerState.CLOSED
    fail(b)
    assert state(b) is BreakerState.OPEN
    clock.now += 2
    with pytest.raises(CentralUnavailable) as refused:
        b.admit()
    assert refused.value.retry_after == pytest.approx(3.0)
    assert seen == [(BreakerState.CLOSED, BreakerState.OPEN)]


def test_an_error_rate_over_the_window_opens_it_without_a_run_of_failures() -> None:
    b, clock, _ = breaker()
    for _ in range(3):  # succeed, fail, succeed, fail ...: never 3 in a row, 50 %
        succeed(b)
        fail(b)
        clock.now += 1
    assert state(b) is BreakerState.OPEN


def test_old_outcomes_leave_the_window() -> None:
    b, clock, _ = breaker()
    for _ in range(3):
        fail(b)
        succeed(b)
        clock.now += 6  # each pair in a window of its own: never 6 calls in 10 s
    assert state(b) is BreakerState.CLOSED


def test_after_the_cool_down_one_probe_goes_through_and_its_success_closes_it() -> None:
    b, clock, seen = breaker()
    fail(b, 3)
    clock.now += 5
    assert state(b) is BreakerState.HALF_OPEN
    probe = b.admit()
    assert probe is True
    with pytest.raises(CentralUnavailable, match="probed"):
        b.admit()  # only `half_open_probes` trial calls at a time
    b.succeeded(probe)
    assert state(b) is BreakerState.CLOSED
    assert b.admit() is False
    assert [new for _, new in seen] == [
        BreakerState.OPEN,
        BreakerState.HALF_OPEN,
        BreakerState.CLOSED,
    ]


def test_a_failed_probe_opens_it_again_for_a_full_cool_down() -> None:
    b, clock, _ = breaker()
    fail(b, 3)
    clock.now += 5
    fail(b)  # the probe
    assert state(b) is BreakerState.OPEN
    assert b.retry_after() == pytest.approx(5.0)


def test_a_late_outcome_of_a_call_admitted_while_closed_decides_nothing() -> None:
    b, clock, _ = breaker()
    early = b.admit()
    fail(b, 3)
    clock.now += 5
    b.succeeded(early)  # admitted before it opened: not a probe
    assert state(b) is BreakerState.HALF_OPEN


def test_a_central_retry_after_opens_it_for_that_long_at_most_the_cap() -> None:
    b, _clock, _ = breaker()
    fail(b, retry_after=12)
    assert state(b) is BreakerState.OPEN
    assert b.retry_after() == pytest.approx(12.0)
    b2, _clock2, _ = breaker()
    fail(b2, retry_after=3600)
    assert b2.retry_after() == pytest.approx(30.0)


def test_several_probes_must_all_succeed_to_close_it() -> None:
    b, clock, _ = breaker(SETTINGS.model_copy(update={"half_open_probes": 2}))
    fail(b, 3)
    clock.now += 5
    first, second = b.admit(), b.admit()
    b.succeeded(first)
    assert state(b) is BreakerState.HALF_OPEN
    b.succeeded(second)
    assert state(b) is BreakerState.CLOSED


def test_retry_after_is_read_as_seconds_or_an_http_date() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None
    assert parse_retry_after(None) is None


# -- the retry policy with a breaker -------------------------------------------------------------

POLICY = RetrySettings(attempts=8, initial_backoff=0.01, max_backoff=0.05, jitter=0.0)


class Central:
    """Answers with the errors given in turn, then "ok"; counts the attempts that reached it."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_a_dead_central_gets_the_threshold_of_attempts_then_none() -> None:
    b, clock, _ = breaker()
    dead = Central(*(TransientError("503") for _ in range(100)))
    with pytest.raises(CentralUnavailable):
        await call_with_retry(dead, POLICY, time.time() + 10, LOG, clock.sleep, b)
    assert dead.calls == SETTINGS.failure_threshold  # not the policy's 8
    for _ in range(5):
        with pytest.raises(CentralUnavailable):
            await call_with_retry(dead, POLICY, time.time() + 10, LOG, clock.sleep, b)
    assert dead.calls == SETTINGS.failure_threshold


async def test_a_retry_after_that_fits_the_deadline_is_waited_then_the_probe_succeeds() -> None:
    b, clock, _ = breaker()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await clock.sleep(seconds)

    central = Central(TransientError("429", retry_after=2.0))
    assert await call_with_retry(central, POLICY, time.time() + 10, LOG, sleep, b) == "ok"
    assert central.calls == 2
    assert waits[0] >= 2.0  # at least what the central system asked
    assert state(b) is BreakerState.CLOSED


async def test_a_retry_after_beyond_the_deadline_gives_up_at_once_and_opens_the_breaker() -> None:
    b, clock, _ = breaker()
    central = Central(TransientError("503", retry_after=20.0))
    with pytest.raises(CentralUnavailable) as refused:
        await call_with_retry(central, POLICY, time.time() + 10, LOG, clock.sleep, b)
    assert central.calls == 1
    assert refused.value.retry_after == pytest.approx(20.0)
    assert state(b) is BreakerState.OPEN


async def test_without_a_breaker_a_retry_after_is_still_honoured() -> None:
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)

    central = Central(TransientError("503"), TransientError("503", retry_after=1.5))
    assert await call_with_retry(central, POLICY, time.time() + 10, LOG, sleep) == "ok"
    assert waits[0] < 1.0 <= 1.5 <= waits[1]
    central = Central(TransientError("503", retry_after=60))
    with pytest.raises(CentralUnavailable):
        await call_with_retry(central, POLICY, time.time() + 10, LOG, sleep)
    assert central.calls == 1


async def test_an_answer_that_is_not_transient_counts_as_the_central_system_being_up() -> None:
    b, clock, _ = breaker()
    fail(b, 3)
    clock.now += 5
    with pytest.raises(RecordNotFound):
        await call_with_retry(
            Central(RecordNotFound("none")), POLICY, time.time() + 10, LOG, clock.sleep, b
        )
    assert state(b) is BreakerState.CLOSED
