"""Per-client rate limits: one token bucket per client, configured per client.

Buckets live in the gateway process: with N gateway processes a client gets up
to N times its rate in total, which operators account for when they set it
(docs/security.md). A bucket costs a clock read and two float operations.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.problems import ProblemError
from gateway.security.authentication import CLIENT
from schemas.problems import ProblemType
from schemas.security import RateLimit


@dataclass(slots=True)
class TokenBucket:
    rate: float
    burst: float
    tokens: float
    updated: float

    def take(self, now: float) -> float:
        """0 when a request may pass (and pays its token), else the seconds until it could."""
        self.tokens = min(self.burst, self.tokens + (now - self.updated) * self.rate)
        self.updated = now
        if self.tokens >= 1:
            self.tokens -= 1
            return 0.0
        return (1 - self.tokens) / self.rate


class RateLimiter:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, TokenBucket] = {}

    def check(self, client_id: str, limit: RateLimit) -> None:
        """Raise 429 with Retry-After when the client's bucket is empty."""
        now = self._clock()
        bucket = self._buckets.get(client_id)
        if bucket is None or bucket.rate != limit.rate or bucket.burst != limit.burst:
            # New client, or its limit was just reconfigured: start from a full bucket.
            bucket = TokenBucket(limit.rate, limit.burst, limit.burst, now)
            self._buckets[client_id] = bucket
        wait = bucket.take(now)
        if wait > 0:
            raise ProblemError(
                429,
                ProblemType.RATE_LIMITED,
                "Too many requests",
                f"this client's limit is {limit.rate:g} requests a second, bursts of {limit.burst}",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )


RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    client = request.get(CLIENT)
    if client is not None:
        request.app[RATE_LIMITER].check(client.client_id, client.rate_limit)
    return await handler(request)
