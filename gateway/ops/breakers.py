"""The central systems' circuit breakers, as this gateway process has seen them in replies.

The breakers themselves live in the workers' memory (adapters/breaker.py), which
the gateway cannot read; each worker's own `/metrics` (`lgsp_worker_breaker_state`)
is the authoritative view, one per replica. What the gateway does see is the
answers: a 503 `central-unavailable` reply says that a worker's breaker refused
the call and for how long (its `Retry-After`); any other reply from a worker says
that the call went through to the central system. So, per adapter:

    open       the last reply was a refusal, and its Retry-After has not passed
    half-open  the last reply was a refusal whose Retry-After has passed: the
               next call is let through as a trial
    closed     the last reply from a worker was not a refusal
    unknown    no reply from this adapter's workers since this process started

Like the service statistics, each gateway process keeps its own view, and it is
only as fresh as the last call: the dashboard says so.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson
from aiohttp import web

from schemas.problems import ProblemType

SeenState = Literal["closed", "half-open", "open", "unknown"]


@dataclass(slots=True)
class _Seen:
    refused_until: float | None = None  # None: the last reply was not a refusal
    last_reply: float = 0.0
    refusals: int = 0


class CentralView:
    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self.clock = clock
        self._seen: dict[str, _Seen] = {}

    def saw_reply(self, adapter: str, response: web.StreamResponse) -> None:
        """A worker's reply reached the caller: a refusal (503 central-unavailable) or not."""
        now = self.clock()
        seen = self._seen.setdefault(adapter, _Seen())
        seen.last_reply = now
        refused_for = _refusal(response)
        if refused_for is None:
            seen.refused_until = None
            return
        seen.refusals += 1
        seen.refused_until = now + refused_for

    def state(self, adapter: str) -> SeenState:
        seen = self._seen.get(adapter)
        if seen is None:
            return "unknown"
        if seen.refused_until is None:
            return "closed"
        return "open" if self.clock() < seen.refused_until else "half-open"

    def snapshot(self, adapters: list[str]) -> list[dict[str, Any]]:
        """One entry per adapter, in the order given."""
        out: list[dict[str, Any]] = []
        for adapter in adapters:
            seen = self._seen.get(adapter)
            out.append(
                {
                    "adapter": adapter,
                    "state": self.state(adapter),
                    "retry_at": _iso(seen.refused_until) if seen else None,
                    "last_reply": _iso(seen.last_reply) if seen else None,
                    "refusals": seen.refusals if seen else 0,
                }
            )
        return out


def _refusal(response: web.StreamResponse) -> float | None:
    """The Retry-After of a 503 `central-unavailable` answer; None for any other answer."""
    if response.status != 503 or not isinstance(response, web.Response):
        return None
    raw = response.text
    if raw is None:
        return None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    if not isinstance(document, dict) or document.get("type") != ProblemType.CENTRAL_UNAVAILABLE:
        return None
    try:
        return float(response.headers.get("Retry-After", "0"))
    except ValueError:
        return 0.0


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")
