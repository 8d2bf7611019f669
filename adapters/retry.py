"""Running one operation under its retry policy.

Bounded by attempts *and* by the message's deadline: we never start a wait that
would end after the caller has given up. Exponential backoff with jitter, only
`TransientError` retried, one log line per scheduled retry, the last exception
let through. A fresh `AsyncRetrying` per call: sharing one between concurrent
calls is unsafe (tenacity #93).
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

from adapters.errors import DeadlineExceeded, TransientError
from schemas.config import RetrySettings

T = TypeVar("T")
Sleep = Callable[[float], Awaitable[None]]

# Below this much time left, another attempt cannot usefully finish.
MIN_USEFUL_ATTEMPT = 0.02


class StopBeforeDeadline(stop_base):
    def __init__(self, deadline: float) -> None:
        self.deadline = deadline

    def __call__(self, retry_state: RetryCallState) -> bool:
        return time.time() + retry_state.upcoming_sleep + MIN_USEFUL_ATTEMPT >= self.deadline


async def call_with_retry(
    attempt: Callable[[], Awaitable[T]],
    policy: RetrySettings,
    deadline: float,
    log: structlog.typing.FilteringBoundLogger,
    sleep: Sleep = asyncio.sleep,
) -> T:
    """Call `attempt` until it succeeds, fails permanently, or the policy or deadline stops it."""

    async def timed_attempt() -> T:
        remaining = deadline - time.time()
        if remaining <= 0:
            raise DeadlineExceeded("deadline passed before the attempt")
        try:
            async with asyncio.timeout(min(policy.attempt_timeout, remaining)):
                return await attempt()
        except TimeoutError as exc:
            if time.time() >= deadline:
                raise DeadlineExceeded("deadline passed during the attempt") from exc
            raise TransientError("central call timed out") from exc

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
        if policy.attempts <= 1 or time.time() + first_wait + MIN_USEFUL_ATTEMPT >= deadline:
            raise
        log.warning("central.retry", attempt=1, wait_ms=round(first_wait * 1000), error=str(exc))
        await sleep(first_wait)
    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.attempts - 1) | StopBeforeDeadline(deadline),
        # Attempt n of this loop is attempt n + 1 overall: the backoff goes on doubling.
        wait=wait_exponential(multiplier=policy.initial_backoff * 2, max=policy.max_backoff)
        + wait_random(0, policy.jitter),
        retry=retry_if_exception_type(TransientError),
        before_sleep=log_retry,
        reraise=True,
        sleep=sleep,
    )
    return await retrying(timed_attempt)
