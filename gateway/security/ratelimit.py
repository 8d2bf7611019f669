"""Per-client rate limits: one token bucket per client, configured per client.

Buckets live in the gateway process, and the processes of a deployment share
what they let through (gateway/gossip.py, topic `ratelimit`): each reports the
tokens its clients took since its last report, and each takes its peers'
figures out of its own buckets, so a client's rate holds across N gateways.
Between two reports each process may let through what its bucket holds; the
debt is paid from the next refills (a bucket may go below zero), so over any
window longer than a few report intervals the total stays at the client's
rate. A bucket costs a clock read and two float operations.
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
        self._taken: dict[str, int] = {}  # since the last `usage()`, for the peers
        self._debt: dict[str, float] = {}  # what the peers took, not yet paid

    def check(self, client_id: str, limit: RateLimit) -> None:
        """Raise 429 with Retry-After when the client's bucket is empty."""
        now = self._clock()
        bucket = self._buckets.get(client_id)
        if bucket is None or bucket.rate != limit.rate or bucket.burst != limit.burst:
            # New client, or its limit was just reconfigured: start from a full bucket.
            bucket = TokenBucket(limit.rate, limit.burst, limit.burst, now)
            self._buckets[client_id] = bucket
        if self._debt:
            bucket.tokens -= self._debt.pop(client_id, 0.0)
        wait = bucket.take(now)
        if wait > 0:
            raise ProblemError(
                429,
                ProblemType.RATE_LIMITED,
                "Too many requests",
                f"this client's limit is {limit.rate:g} requests a second, bursts of {limit.burst}",
                headers={"Retry-After": str(max(1, math.ceil(wait)))},
            )
        self._taken[client_id] = self._taken.get(client_id, 0) + 1

    def usage(self) -> dict[str, int]:
        """Tokens taken per client since the last call (this process's gossip entry)."""
        taken, self._taken = self._taken, {}
        return taken

    def fold(self, _peer: str, entry: object) -> None:
        """Take what a peer let through out of this process's buckets."""
        if not isinstance(entry, dict):
            return
        for client_id, n in entry.items():
            if isinstance(n, int) and n > 0:
                self._debt[str(client_id)] = self._debt.get(str(client_id), 0.0) + n


RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)


@web.middleware
async def rate_limit_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    client = request.get(CLIENT)
    if client is not None:
        request.app[RATE_LIMITER].check(client.client_id, client.rate_limit)
    return await handler(request)
