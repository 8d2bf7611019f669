"""Per-service statistics over a sliding window (10 minutes by default), like X-Road's health data.

Per adapter and operation: successes, failures, min/avg/max latency, and the
time of the last success and the last failure. Kept in one-second buckets in
this gateway process (each process of a multi-process gateway counts its own
traffic). A 2xx or 3xx answer is a success, a 5xx a failure; a 4xx is the
caller's mistake, counted apart as `rejected`, not held against the service.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any


@dataclass(slots=True)
class _Bucket:
    second: int
    successes: int = 0
    failures: int = 0
    rejected: int = 0
    total_seconds: float = 0.0
    count: int = 0
    min_seconds: float = float("inf")
    max_seconds: float = 0.0


@dataclass(slots=True)
class _Service:
    buckets: deque[_Bucket]
    last_success: float | None = None
    last_failure: float | None = None


class ServiceStats:
    def __init__(self, window_seconds: int = 600, clock: Callable[[], float] = time.time) -> None:
        self.window = window_seconds
        self.clock = clock
        self._services: dict[tuple[str, str], _Service] = {}

    def record(self, adapter: str, operation: str, status: int, seconds: float) -> None:
        now = self.clock()
        service = self._services.setdefault((adapter, operation), _Service(deque()))
        self._trim(service, now)
        second = int(now)
        if not service.buckets or service.buckets[-1].second != second:
            service.buckets.append(_Bucket(second))
        bucket = service.buckets[-1]
        if status >= 500:
            bucket.failures += 1
            service.last_failure = now
        elif status >= 400:
            bucket.rejected += 1
        else:
            bucket.successes += 1
            service.last_success = now
        bucket.count += 1
        bucket.total_seconds += seconds
        bucket.min_seconds = min(bucket.min_seconds, seconds)
        bucket.max_seconds = max(bucket.max_seconds, seconds)

    def _trim(self, service: _Service, now: float) -> None:
        oldest = int(now) - self.window + 1
        while service.buckets and service.buckets[0].second < oldest:
            service.buckets.popleft()

    def snapshot(self) -> list[dict[str, Any]]:
        """One entry per service seen since start, sorted; latencies in milliseconds."""
        now = self.clock()
        out: list[dict[str, Any]] = []
        for (adapter, operation), service in sorted(self._services.items()):
            self._trim(service, now)
            b = list(service.buckets)
            count = sum(x.count for x in b)
            total = sum(x.total_seconds for x in b)
            out.append(
                {
                    "adapter": adapter,
                    "operation": operation,
                    "window_seconds": self.window,
                    "successes": sum(x.successes for x in b),
                    "failures": sum(x.failures for x in b),
                    "rejected": sum(x.rejected for x in b),
                    "min_ms": _ms(min((x.min_seconds for x in b), default=None)),
                    "avg_ms": _ms(total / count if count else None),
                    "max_ms": _ms(max((x.max_seconds for x in b), default=None)),
                    "last_success": _iso(service.last_success),
                    "last_failure": _iso(service.last_failure),
                }
            )
        return out


def _ms(seconds: float | None) -> float | None:
    return None if seconds is None else round(seconds * 1000, 2)


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
