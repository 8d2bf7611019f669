"""The operator endpoints under `/ops`: an aiohttp sub-application guarded once.

Every route of the sub-application needs the operator credential
(gateway/security/operator.py): its middleware checks it before any handler
runs, so no handler can forget. The dashboard page and its login form
(gateway/ops/pages.py) and `GET /metrics` sit on the main application: the
page asks for the credential itself, and Prometheus scrapes `/metrics` where
it expects it.

    GET  /ops/queues            queue health (JSON)
    GET  /ops/services          per-service statistics over the window, and each central
                                system's circuit breaker as this process saw it
    GET  /ops/dlq               dead letters; /ops/dlq/{id} one of them, masked
    POST /ops/dlq/replay        republish with confirms (header credential only)
    POST /ops/dlq/purge         remove for good, with "confirm": true
    GET  /ops/maintenance       the switch; PUT turns it on or off
    GET  /ops/alarms            enumeration alarms of the last window (security/enumeration.py)
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, ValidationError

from adapters.connection import mapped_broker_errors
from adapters.errors import BrokerUnavailable
from adapters.metrics import exposition
from gateway.bus import Bus
from gateway.http.operations import BUS, REGISTRY
from gateway.ops import maintenance
from gateway.ops.dlq import DeadLetters
from gateway.ops.metrics import GatewayMetrics
from gateway.ops.queues import QueueMonitor
from gateway.ops.servicestats import ServiceStats
from gateway.problems import ProblemError, unavailable
from gateway.security.enumeration import alarms
from gateway.security.operator import OperatorCredential
from schemas.config import OpsSettings
from schemas.problems import ProblemType

OPERATOR = web.AppKey("operator", OperatorCredential)
OPS_SETTINGS = web.AppKey("ops_settings", OpsSettings)
QUEUE_MONITOR = web.AppKey("queue_monitor", QueueMonitor)
DEAD_LETTERS = web.AppKey("dead_letters", DeadLetters)
SERVICE_STATS = web.AppKey("service_stats", ServiceStats)
METRICS = web.AppKey("metrics", GatewayMetrics)

# Queue facts are read at most this often, however many scrapes and dashboards ask.
REPORT_MAX_AGE = 1.0


class DlqAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] | None = None
    all: bool = False
    confirm: bool = False


class MaintenanceSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maintenance: bool
    reason: str = ""


async def _json_body(request: web.Request, model: type[BaseModel]) -> Any:
    try:
        return model.model_validate_json(await request.read())
    except ValidationError as exc:
        raise ProblemError(
            422,
            ProblemType.VALIDATION,
            "Invalid operator request",
            f"{exc.error_count()} problem(s) in the body",
            errors=[
                {
                    "field": ".".join(str(p) for p in e["loc"]),
                    "message": e["msg"],
                    "type": e["type"],
                }
                for e in exc.errors(include_input=False, include_url=False, include_context=False)
            ],
        ) from None


def _json(data: Any, status: int = 200) -> web.Response:
    return web.Response(
        body=orjson.dumps(data),
        status=status,
        content_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def queues(request: web.Request) -> web.Response:
    report = await request.config_dict[QUEUE_MONITOR].report(REPORT_MAX_AGE)
    request.config_dict[METRICS].update_queues(report)
    bus: Bus = request.config_dict[BUS]
    ready, reason = bus.ready()
    state = maintenance.status(request.config_dict[OPS_SETTINGS].maintenance_file)
    return _json(
        {
            **report.as_dict(),
            "gateway": {
                "broker_connected": bus.connected.is_set(),
                "ready": ready and not state["maintenance"],
                "reason": "maintenance mode" if state["maintenance"] else reason,
                "maintenance": state,
                "in_flight": bus.in_flight,
                "adapters": request.config_dict[REGISTRY].names,
            },
        }
    )


async def services(request: web.Request) -> web.Response:
    stats = request.config_dict[SERVICE_STATS]
    central = request.config_dict[METRICS].central.snapshot(request.config_dict[REGISTRY].names)
    return _json({"window_seconds": stats.window, "services": stats.snapshot(), "central": central})


async def dlq_list(request: web.Request) -> web.Response:
    try:
        limit = max(1, min(int(request.query.get("limit", "100")), 10_000))
    except ValueError:
        raise ProblemError(400, ProblemType.MALFORMED, "Invalid limit", "an integer") from None
    async with _broker_needed(request):
        messages = await request.config_dict[DEAD_LETTERS].list(limit)
    return _json({"messages": messages})


async def dlq_show(request: web.Request) -> web.Response:
    async with _broker_needed(request):
        found = await request.config_dict[DEAD_LETTERS].show(request.match_info["id"])
    if found is None:
        raise ProblemError(404, ProblemType.NOT_FOUND, "No such dead letter", "it may be gone")
    return _json(found)


@contextlib.asynccontextmanager
async def _broker_needed(request: web.Request) -> AsyncIterator[None]:
    """A broker that fails under an operator action is a 503 that says nothing changed."""
    try:
        with mapped_broker_errors("operator action"):
            yield
    except BrokerUnavailable:
        raise unavailable(
            "the broker is not reachable; nothing was changed",
            request.config_dict[BUS].retry_after,
        ) from None


def _selection(action: DlqAction) -> list[str] | None:
    if action.all == (action.ids is not None):
        raise ProblemError(
            422, ProblemType.VALIDATION, "Say which messages", 'give either "ids" or "all": true'
        )
    return action.ids


async def dlq_replay(request: web.Request) -> web.Response:
    action: DlqAction = await _json_body(request, DlqAction)
    selection = _selection(action)
    async with _broker_needed(request):
        result = await request.config_dict[DEAD_LETTERS].replay(selection)
    return _json(result)


async def dlq_purge(request: web.Request) -> web.Response:
    action: DlqAction = await _json_body(request, DlqAction)
    ids = _selection(action)
    if not action.confirm:
        raise ProblemError(
            422, ProblemType.VALIDATION, "Confirmation required", 'purging needs "confirm": true'
        )
    async with _broker_needed(request):
        purged = await request.config_dict[DEAD_LETTERS].purge(ids)
    return _json({"purged": purged})


async def maintenance_get(request: web.Request) -> web.Response:
    return _json(maintenance.status(request.config_dict[OPS_SETTINGS].maintenance_file))


async def maintenance_put(request: web.Request) -> web.Response:
    switch: MaintenanceSwitch = await _json_body(request, MaintenanceSwitch)
    path = request.config_dict[OPS_SETTINGS].maintenance_file
    return _json(maintenance.switch(path, switch.maintenance, switch.reason))


async def metrics(request: web.Request) -> web.Response:
    """`GET /metrics` (outside /ops, where Prometheus expects it): open unless
    `ops.metrics_auth` is set."""
    if request.config_dict[OPS_SETTINGS].metrics_auth:
        request.config_dict[OPERATOR].require(request)
    report = await request.config_dict[QUEUE_MONITOR].report(REPORT_MAX_AGE)
    request.config_dict[METRICS].update_queues(report)
    return exposition(request.config_dict[METRICS].registry)


@web.middleware
async def operator_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    request.config_dict[OPERATOR].require(request)
    return await handler(request)


def ops_app() -> web.Application:
    """The `/ops` sub-application: its routes, behind the operator credential.

    It reads the operator tools from the main application's keys (`config_dict`).
    """
    app = web.Application(middlewares=[operator_middleware])
    r = app.router
    r.add_get("/queues", queues)
    r.add_get("/services", services)
    r.add_get("/dlq", dlq_list)
    r.add_post("/dlq/replay", dlq_replay)
    r.add_post("/dlq/purge", dlq_purge)
    r.add_get("/dlq/{id}", dlq_show)
    r.add_get("/maintenance", maintenance_get)
    r.add_put("/maintenance", maintenance_put)
    r.add_get("/alarms", alarms)
    return app
