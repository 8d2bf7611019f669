"""`GET /healthz` (the process is alive) and `GET /readyz` (it can serve traffic).

Readiness is what a load balancer asks: the broker is connected and every
adapter queue has a consumer. Other conditions (maintenance mode, from
gateway/ops/) are listed in `READINESS_CHECKS` when the app is assembled.
"""

from __future__ import annotations

from collections.abc import Callable

from aiohttp import web

from gateway.http.operations import BUS
from gateway.problems import ProblemError
from schemas.problems import ProblemType

ReadinessCheck = Callable[[web.Application], tuple[bool, str]]
READINESS_CHECKS: web.AppKey[list[ReadinessCheck]] = web.AppKey("readiness_checks")


async def healthz(_request: web.Request) -> web.Response:
    return web.json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    checks: list[ReadinessCheck] = [lambda app: app[BUS].ready(), *request.app[READINESS_CHECKS]]
    for check in checks:
        ok, reason = check(request.app)
        if not ok:
            raise ProblemError(
                503,
                ProblemType.UNAVAILABLE,
                "Not ready",
                reason,
                headers={"Retry-After": "1"},
            )
    return web.json_response({"status": "ready"})
