"""Repeated failed matches on one data subject by one client are refused for a while.

A match operation (citizen-verify, code-search: `Operation.match_result`) answers
whether the claims in a request match a record. By default it says nothing else
(which claim failed is a field group), so one answer teaches a client little; but
many answers on the same subject would still let it guess a date of birth one day
at a time. So the gateway counts each client's failed matches per subject: after
`auth.match_throttle.failures` of them within `window` seconds, the client's next
calls on that subject are refused with 429 `match-throttled` and `Retry-After`,
before anything is published. The refusal is audited like every answer and
counted in `lgsp_match_throttled_total` (labels: adapter, operation; never the
client's subject).

Unknown IDs and mismatches count alike, so the throttle itself tells nothing
apart. Subjects are never kept in clear: the key is an HMAC of (client, subject)
under a random key of this process. Counts live in the gateway process: with N
processes a client gets up to N times the allowance, as with the rate limit.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets
from collections import Counter
from collections.abc import Iterator

import orjson
import structlog
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, Metric

from gateway.http.state import CLIENT_ID, SUBJECT, Resolved
from gateway.problems import ProblemError
from gateway.security.failures import FailureWindow
from schemas.problems import ProblemType
from schemas.security import MatchThrottle as MatchThrottleSettings

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.security")

THROTTLED = "security.match_throttled"


class MatchThrottle:
    """A call guard (gateway/http/operations.py): `before` may refuse, `after` counts."""

    def __init__(self, settings: MatchThrottleSettings) -> None:
        self.settings = settings
        self.failures = FailureWindow(settings.failures, settings.window, settings.max_tracked)
        self._key = secrets.token_bytes(32)
        self.failed: Counter[tuple[str, str]] = Counter()
        self.throttled: Counter[tuple[str, str]] = Counter()

    def _pair(self, request: web.Request) -> bytes | None:
        subject, client_id = request.get(SUBJECT), request.get(CLIENT_ID)
        if not subject or not client_id:
            return None
        data = client_id.encode() + b"\x00" + str(subject).strip().casefold().encode()
        return hmac.new(self._key, data, hashlib.sha256).digest()[:16]

    def before(self, request: web.Request, resolved: Resolved) -> None:
        """Refuse (429) a match on a subject this client failed on too often lately."""
        if resolved.operation.match_result is None:
            return
        pair = self._pair(request)
        wait = self.failures.blocked_for(pair) if pair is not None else 0.0
        if wait <= 0:
            return
        self.throttled[resolved.adapter, resolved.operation.name] += 1
        log.warning(
            THROTTLED,
            client=request.get(CLIENT_ID),
            adapter=resolved.adapter,
            operation=resolved.operation.name,
        )
        raise ProblemError(
            429,
            ProblemType.MATCH_THROTTLED,
            "Too many failed matches",
            f"more than {self.settings.failures - 1} failed matches on this subject by this "
            f"client within {self.settings.window:g} s; check the claims before trying again",
            headers={"Retry-After": str(max(1, math.ceil(wait)))},
        )

    def after(self, request: web.Request, resolved: Resolved, payload: bytes) -> None:
        """Count a success answer whose match result is false or empty as a failed match."""
        field = resolved.operation.match_result
        if field is None:
            return
        pair = self._pair(request)
        if pair is None:
            return
        try:
            document = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return
        if isinstance(document, dict) and not document.get(field):
            self.failures.fail(pair)
            self.failed[resolved.adapter, resolved.operation.name] += 1

    def collect(self) -> Iterator[Metric]:
        """Prometheus collector: the alarm (throttled) and what feeds it (failed)."""
        throttled = CounterMetricFamily(
            "lgsp_match_throttled",
            "Match calls refused because the client failed too often on the same subject.",
            labels=["adapter", "operation"],
        )
        for (adapter, operation), n in sorted(self.throttled.items()):
            throttled.add_metric([adapter, operation], n)
        failed = CounterMetricFamily(
            "lgsp_match_failures",
            "Match calls answered with no match (an unknown ID or a claim that differs).",
            labels=["adapter", "operation"],
        )
        for (adapter, operation), n in sorted(self.failed.items()):
            failed.add_metric([adapter, operation], n)
        yield throttled
        yield failed
