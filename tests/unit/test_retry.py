"""The retry runner: bounded by attempts and by the deadline, only transient errors retried."""

from __future__ import annotations

import time

import pytest
import structlog
from structlog.testing import capture_logs

from adapters.errors import DeadlineExceeded, PermanentError, TransientError
from adapters.retry import call_with_retry
from schemas.config import RetrySettings

POLICY = RetrySettings(attempts=4, initial_backoff=0.01, max_backoff=0.05, jitter=0.0)
LOG = structlog.get_logger("test")


async def no_sleep(_seconds: float) -> None:
    return None


class Flaky:
    """Fails with the given errors in turn, then answers."""

    def __init__(self, *errors: Exception) -> None:
        self.errors = list(errors)
        self.calls = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def test_transient_errors_are_retried_until_success() -> None:
    flaky = Flaky(TransientError("a"), TransientError("b"))
    with capture_logs() as logs:
        assert await call_with_retry(flaky, POLICY, time.time() + 5, LOG, no_sleep) == "ok"
    assert flaky.calls == 3
    assert [e["event"] for e in logs] == ["central.retry", "central.retry"]


async def test_permanent_error_is_not_retried() -> None:
    flaky = Flaky(PermanentError("no"))
    with pytest.raises(PermanentError):
        await call_with_retry(flaky, POLICY, time.time() + 5, LOG, no_sleep)
    assert flaky.calls == 1


async def test_attempts_bound_lets_the_last_error_through() -> None:
    flaky = Flaky(*(TransientError(str(i)) for i in range(10)))
    with pytest.raises(TransientError, match="3"):
        await call_with_retry(flaky, POLICY, time.time() + 5, LOG, no_sleep)
    assert flaky.calls == POLICY.attempts


async def test_no_wait_is_started_that_would_end_after_the_deadline() -> None:
    slow_backoff = RetrySettings(attempts=10, initial_backoff=5.0, max_backoff=5.0, jitter=0.0)
    flaky = Flaky(*(TransientError(str(i)) for i in range(10)))
    with pytest.raises(TransientError):
        await call_with_retry(flaky, slow_backoff, time.time() + 1.0, LOG, no_sleep)
    assert flaky.calls == 1


async def test_an_attempt_is_time_boxed_and_a_timeout_is_transient() -> None:
    import asyncio

    calls = 0

    async def hangs_once() -> str:
        nonlocal calls
        calls += 1
        if calls == 1:
            await asyncio.Event().wait()
        return "ok"

    boxed = RetrySettings(attempts=3, initial_backoff=0.0, jitter=0.0, attempt_timeout=0.05)
    assert await call_with_retry(hangs_once, boxed, time.time() + 5, LOG, no_sleep) == "ok"
    assert calls == 2


async def test_a_passed_deadline_is_reported_as_such() -> None:
    with pytest.raises(DeadlineExceeded):
        await call_with_retry(Flaky(), POLICY, time.time() - 1, LOG, no_sleep)
