"""Per-operation counts of the calls that reached a mock's handler.

The counting middleware sits inside the fault middleware, so a request that
a fault swallowed (an outage, a reset, a hang ...) is not counted: tests use
this to prove that a request never reached the central system, for instance
one that expired on the bus. Every route of a system is named after its
operation; unnamed routes (and ``/_admin/*``) are not counted.

    GET  /_admin/stats        {"since": ..., "operations": {op: {"calls": n,
                                "statuses": {"200": n, ...}}},
                               "purpose_trails": [{"operation": op, "officer_id": ...,
                                "procedure_code": ..., "case_id": ...}, ...]}

The purpose trail is what each system was told about who asks and why (the
last `PURPOSE_TRAILS_KEPT`, oldest first), in whatever shape its wire style
carries it; tests assert that it arrived.
    POST /_admin/stats/reset  zero the counts (answers the counts it dropped)
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, deque
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

PURPOSE_TRAILS_KEPT = 200


class Stats:
    """Call and status counts per operation since start or the last reset."""

    def __init__(self) -> None:
        self._calls: Counter[str] = Counter()
        self._statuses: dict[str, Counter[int]] = {}
        self._since = dt.datetime.now(dt.UTC)
        self._purposes: deque[dict[str, str | None]] = deque(maxlen=PURPOSE_TRAILS_KEPT)

    def purpose(
        self,
        operation: str,
        officer_id: str | None,
        procedure_code: str | None,
        case_id: str | None,
    ) -> None:
        """Record the purpose trail a call carried (None where a part was missing)."""
        self._purposes.append(
            {
                "operation": operation,
                "officer_id": officer_id,
                "procedure_code": procedure_code,
                "case_id": case_id,
            }
        )

    def started(self, operation: str) -> None:
        self._calls[operation] += 1

    def finished(self, operation: str, status: int) -> None:
        self._statuses.setdefault(operation, Counter())[status] += 1

    def calls(self, operation: str) -> int:
        return self._calls[operation]

    def snapshot(self) -> dict[str, Any]:
        return {
            "since": self._since.isoformat(timespec="milliseconds"),
            "operations": {
                operation: {
                    "calls": calls,
                    "statuses": {
                        str(status): n
                        for status, n in sorted(self._statuses.get(operation, Counter()).items())
                    },
                }
                for operation, calls in sorted(self._calls.items())
            },
            "purpose_trails": list(self._purposes),
        }

    def reset(self) -> dict[str, Any]:
        before = self.snapshot()
        self._calls.clear()
        self._statuses.clear()
        self._purposes.clear()
        self._since = dt.datetime.now(dt.UTC)
        return before


STATS = web.AppKey("mocks.stats", Stats)


@web.middleware
async def stats_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    route = request.match_info.route
    operation = route.name
    if operation is None or request.path.startswith("/_admin/"):
        return await handler(request)
    stats = request.app[STATS]
    stats.started(operation)
    try:
        response = await handler(request)
    except web.HTTPException as exc:
        stats.finished(operation, exc.status)
        raise
    except Exception:
        stats.finished(operation, 500)
        raise
    stats.finished(operation, response.status)
    return response


async def _get(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS].snapshot())


async def _reset(request: web.Request) -> web.Response:
    return web.json_response(request.app[STATS].reset())


def setup_stats(app: web.Application) -> None:
    """Give ``app`` its counters, the counting middleware and the admin routes."""
    app[STATS] = Stats()
    app.middlewares.append(stats_middleware)
    app.router.add_get("/_admin/stats", _get)
    app.router.add_post("/_admin/stats/reset", _reset)
