"""Running one operation under its retry policy.

Bounded by attempts *and* by the message's deadline: we never start a wait that
would end after the caller has given up. Exponential backoff with jitter, only
`TransientError` retried, one log line per scheduled retry, the last exception
let through. A fresh `AsyncRetrying` per call: sharing one between concurrent
calls is unsafe (tenacity #93).

A central system's `Retry-After` (carried on `TransientError.retry_after`) is
honoured: the next attempt waits at least that long if it fits in the deadline;
if it does not, we give up at once. With a circuit breaker (adapters/breaker.py)
every attempt asks it first, and reports how it went; a call given up while the
breaker is open, or on a Retry-After, is `CentralUnavailable` (503, Retry-After)
rather than the last `TransientError` (502).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

import structlog
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from adapters.breaker import BreakerState, CircuitBreaker
from adapters.errors import CentralUnavailable, DeadlineExceeded, PermanentError, TransientError
from schemas.config import RetrySettings

T = TypeVar("T")
LgspFailure = TransientError | CentralUnavailable
Sleep = Callable[[float], Awaitable[None]]

# Below this much time left, another attempt cannot usefully finish.
MIN_USEFUL_ATTEMPT = 0.02
# A wait for a Retry-After ends this much after it, so the breaker is surely half-open by then.
RETRY_AFTER_MARGIN = 0.005


class StopBeforeDeadline(stop_base):
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return time.time() + retry_state.upcoming_sleep + MIN_USEFUL_ATTEMPT >= self.deadline


class StopWhileOpen(stop_base):
    """No wait that would end while the breaker is still open: the next attempt would be
    refused anyway, so the caller is answered now."""

    def __init__(self, breaker: CircuitBreaker | None) -> None:
        self.breaker = breaker

    def __call__(self, retry_state: RetryCallState) -> bool:
        return _refused_after(self.breaker, retry_state.upcoming_sleep)


def _refused_after(breaker: CircuitBreaker | None, wait: float) -> bool:
    return (
        breaker is not None and breaker.state is BreakerState.OPEN and wait < breaker.retry_after()
    )


class WaitAtLeastRetryAfter(wait_base):
    """The backoff, or the central system's Retry-After when that is longer."""

    def __init__(self, backoff: wait_base, honoured: Callable[[float], float]) -> None:
        self.backoff = backoff
        self.honoured = honoured

    def __call__(self, retry_state: RetryCallState) -> float:
        wait = self.backoff(retry_state)
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None else None
        if isinstance(exc, TransientError) and exc.retry_after is not None:
            wait = max(wait, self.honoured(exc.retry_after) + RETRY_AFTER_MARGIN)
        return wait


async def call_with_retry(
    attempt: Callable[[], Awaitable[T]],
    policy: RetrySettings,
    deadline: float,
    log: structlog.typing.FilteringBoundLogger,
    sleep: Sleep = asyncio.sleep,
    breaker: CircuitBreaker | None = None,
) -> T:
    """Call `attempt` until it succeeds, fails permanently, or the policy or deadline stops it."""

    def honoured(retry_after: float) -> float:
        return breaker.honoured(retry_after) if breaker is not None else max(retry_after, 0.0)

    async def timed_attempt() -> T:
        remaining = deadline - time.time()
        if remaining <= 0:
            raise DeadlineExceeded("deadline passed before the attempt")
        probe = breaker.admit() if breaker is not None else False
        try:
            async with asyncio.timeout(min(policy.attempt_timeout, remaining)):
                result = await attempt()
        except TimeoutError as exc:
            if breaker is not None:
                breaker.failed(probe)
            if time.time() >= deadline:
                raise DeadlineExceeded("deadline passed during the attempt") from exc
            raise TransientError("central call timed out") from exc
        except TransientError as exc:
            if breaker is not None:
                breaker.failed(probe, exc.retry_after)
            raise
        except PermanentError:
            if breaker is not None:
                breaker.succeeded(probe)  # the central system answered
            raise
        except BaseException:
            if breaker is not None:
                breaker.released(probe)
            raise
        if breaker is not None:
            breaker.succeeded(probe)
        return result

    def given_up(exc: TransientError) -> LgspFailure:
        """What the caller gets when no retry is left: 503 if the central system is known
        down (the breaker is open, or it asked for a wait), else the last failure."""
        if breaker is not None and breaker.state is BreakerState.OPEN:
            return CentralUnavailable(
                f"the {breaker.name} central system is unavailable: {exc}", breaker.retry_after()
            )
        if exc.retry_after is not None:
            return CentralUnavailable(
                f"the central system asked to wait longer than the deadline allows: {exc}",
                honoured(exc.retry_after),
            )
        return exc

    def log_retry(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        log.warning(
            "central.retry",
            attempt=state.attempt_number + 1,
            wait_ms=round(state.upcoming_sleep * 1000),
            error=str(exc),
        )

    # The first attempt runs bare: most calls succeed at once, and tenacity's machinery costs
    # more than the rest of the worker's own work (~100 µs a call). Retries go through it.
    try:
        return await timed_attempt()
    except TransientError as exc:
        first_wait = min(policy.initial_backoff, policy.max_backoff) + random.uniform(
            0, policy.jitter
        )
        if exc.retry_after is not None:
            first_wait = max(first_wait, honoured(exc.retry_after) + RETRY_AFTER_MARGIN)
        if (
            policy.attempts <= 1
            or time.time() + first_wait + MIN_USEFUL_ATTEMPT >= deadline
            or _refused_after(breaker, first_wait)
        ):
            failure = given_up(exc)
            if failure is exc:
                raise
            raise failure from exc
        log.warning("central.retry", attempt=1, wait_ms=round(first_wait * 1000), error=str(exc))
        await sleep(first_wait)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts - 1)
        | StopBeforeDeadline(deadline)
        | StopWhileOpen(breaker),
        # Attempt n of this loop is attempt n + 1 overall: the backoff goes on doubling.
        wait=WaitAtLeastRetryAfter(
            wait_exponential(multiplier=policy.initial_backoff * 2, max=policy.max_backoff)
            + wait_random(0, policy.jitter),
            honoured,
        ),
        retry=retry_if_exception_type(TransientError),
        before_sleep=log_retry,
        reraise=True,
        sleep=sleep,
    )
    try:
        return await retrying(timed_attempt)
    except TransientError as exc:
        failure = given_up(exc)
        if failure is exc:
            raise
        raise failure from exc
