"""Operator endpoints: the dashboard, queue health, service statistics, dead letters, maintenance.

Every route here needs the operator credential (`ops.token`), which is not a
client token: `Authorization: Bearer <token>`, or HTTP Basic with the token as
the password (any user name). The dashboard page takes it once, from its login
form or `GET /ops?token=...`, and keeps an HttpOnly, SameSite=Strict cookie
that is derived from the token (never the token itself) and is good for
reading only: actions (replay, purge, maintenance) need the header.
`GET /metrics` is open unless `ops.metrics_auth` is set.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import hmac
from collections.abc import AsyncIterator
from html import escape
from importlib import resources
from typing import Any

import orjson
from aiohttp import web
from pydantic import BaseModel, ConfigDict, ValidationError

from gateway import maintenance
from gateway.bus import Bus
from gateway.dlq import DeadLetters
from gateway.edge import OBSERVERS
from gateway.health import READINESS_CHECKS
from gateway.metrics import GatewayMetrics
from gateway.operations import BUS, REGISTRY
from gateway.problems import ProblemError, unavailable
from gateway.queues import CONNECTION_ERRORS, AmqpLink, QueueMonitor
from gateway.servicestats import ServiceStats
from schemas.config import OpsSettings, Settings
from schemas.problems import ProblemType

OPS_SETTINGS = web.AppKey("ops_settings", OpsSettings)
QUEUE_MONITOR = web.AppKey("queue_monitor", QueueMonitor)
DEAD_LETTERS = web.AppKey("dead_letters", DeadLetters)
SERVICE_STATS = web.AppKey("service_stats", ServiceStats)
METRICS = web.AppKey("metrics", GatewayMetrics)
AMQP_LINK = web.AppKey("ops_amqp_link", AmqpLink)
PAGES: web.AppKey[dict[str, str]] = web.AppKey("ops_pages")

COOKIE = "lgsp_ops"
# Queue facts are read at most this often, however many scrapes and dashboards ask.
REPORT_MAX_AGE = 1.0
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src data:; form-action 'self'; frame-ancestors 'none'"
    ),
}


class DlqAction(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ids: list[str] | None = None
    all: bool = False
    confirm: bool = False


class MaintenanceSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    maintenance: bool
    reason: str = ""


# -- the operator credential ---------------------------------------------------------------


def cookie_value(token: str) -> str:
    """What the dashboard cookie holds: derived from the token, useless as a header credential."""
    return hmac.new(token.encode(), b"lgsp-ops-dashboard", hashlib.sha256).hexdigest()


def _presented(request: web.Request) -> str | None:
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer":
        return credential.strip()
    if scheme.lower() == "basic":
        try:
            decoded = base64.b64decode(credential.strip(), validate=True).decode()
        except (binascii.Error, UnicodeDecodeError):
            return ""
        return decoded.partition(":")[2]
    return None


def is_operator(request: web.Request, *, cookie_ok: bool) -> bool:
    token = request.app[OPS_SETTINGS].token.get_secret_value()
    if not token:
        return False  # no operator credential configured: nobody is an operator
    presented = _presented(request)
    if presented is not None:
        return hmac.compare_digest(presented.encode(), token.encode())
    if cookie_ok:
        cookie = request.cookies.get(COOKIE, "")
        return hmac.compare_digest(cookie.encode(), cookie_value(token).encode())
    return False


def require_operator(request: web.Request) -> None:
    # The read-only cookie never authorises a change.
    if not is_operator(request, cookie_ok=request.method in ("GET", "HEAD")):
        raise ProblemError(
            401,
            ProblemType.UNAUTHORIZED,
            "Operator credential required",
            "operator endpoints take the operator token (ops.token), not a client token",
            headers={"WWW-Authenticate": 'Bearer realm="lgsp-ops"'},
        )


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


# -- the dashboard page --------------------------------------------------------------------


def _page(name: str) -> str:
    return resources.files("gateway").joinpath("static", name).read_text(encoding="utf-8")


def _login_page(request: web.Request, message: str = "") -> web.Response:
    html = request.app[PAGES]["login"].replace("{{message}}", escape(message))
    return web.Response(text=html, status=401, content_type="text/html", headers=PAGE_HEADERS)


def _with_cookie(response: web.StreamResponse, request: web.Request) -> web.StreamResponse:
    token = request.app[OPS_SETTINGS].token.get_secret_value()
    response.set_cookie(
        COOKIE,
        cookie_value(token),
        path="/ops",  # the page and its JSON; never sent with client traffic
        httponly=True,
        samesite="Strict",
        secure=request.secure,
        max_age=12 * 3600,
    )
    return response


async def dashboard(request: web.Request) -> web.StreamResponse:
    token = request.app[OPS_SETTINGS].token.get_secret_value()
    offered = request.query.get("token")
    if offered is not None:
        # Once only: set the cookie and drop the token from the address bar and history.
        if token and hmac.compare_digest(offered.encode(), token.encode()):
            return _with_cookie(web.Response(status=303, headers={"Location": "/ops"}), request)
        return _login_page(request, "That operator token is not valid.")
    if not is_operator(request, cookie_ok=True):
        return _login_page(request)
    return web.Response(
        text=request.app[PAGES]["dashboard"], content_type="text/html", headers=PAGE_HEADERS
    )


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    offered = form.get("token")
    token = request.app[OPS_SETTINGS].token.get_secret_value()
    if isinstance(offered, str) and token and hmac.compare_digest(offered.encode(), token.encode()):
        return _with_cookie(web.Response(status=303, headers={"Location": "/ops"}), request)
    return _login_page(request, "That operator token is not valid.")


# -- JSON endpoints ------------------------------------------------------------------------


async def queues(request: web.Request) -> web.Response:
    require_operator(request)
    report = await request.app[QUEUE_MONITOR].report(REPORT_MAX_AGE)
    request.app[METRICS].update_queues(report)
    bus: Bus = request.app[BUS]
    ready, reason = bus.ready()
    state = maintenance.status(request.app[OPS_SETTINGS].maintenance_file)
    return _json(
        {
            **report.as_dict(),
            "gateway": {
                "broker_connected": bus.connected.is_set(),
                "ready": ready and not state["maintenance"],
                "reason": "maintenance mode" if state["maintenance"] else reason,
                "maintenance": state,
                "in_flight": bus.in_flight,
                "adapters": request.app[REGISTRY].names,
            },
        }
    )


async def services(request: web.Request) -> web.Response:
    require_operator(request)
    stats = request.app[SERVICE_STATS]
    return _json({"window_seconds": stats.window, "services": stats.snapshot()})


async def dlq_list(request: web.Request) -> web.Response:
    require_operator(request)
    try:
        limit = max(1, min(int(request.query.get("limit", "100")), 10_000))
    except ValueError:
        raise ProblemError(400, ProblemType.MALFORMED, "Invalid limit", "an integer") from None
    async with _broker_needed(request):
        messages = await request.app[DEAD_LETTERS].list(limit)
    return _json({"messages": messages})


async def dlq_show(request: web.Request) -> web.Response:
    require_operator(request)
    async with _broker_needed(request):
        found = await request.app[DEAD_LETTERS].show(request.match_info["id"])
    if found is None:
        raise ProblemError(404, ProblemType.NOT_FOUND, "No such dead letter", "it may be gone")
    return _json(found)


@contextlib.asynccontextmanager
async def _broker_needed(request: web.Request) -> AsyncIterator[None]:
    try:
        yield
    except CONNECTION_ERRORS:
        raise unavailable(
            "the broker is not reachable; nothing was changed",
            request.app[BUS].retry_after,
        ) from None


def _selection(action: DlqAction) -> list[str] | None:
    if action.all == (action.ids is not None):
        raise ProblemError(
            422, ProblemType.VALIDATION, "Say which messages", 'give either "ids" or "all": true'
        )
    return action.ids


async def dlq_replay(request: web.Request) -> web.Response:
    require_operator(request)
    action: DlqAction = await _json_body(request, DlqAction)
    selection = _selection(action)
    async with _broker_needed(request):
        result = await request.app[DEAD_LETTERS].replay(selection)
    return _json(result)


async def dlq_purge(request: web.Request) -> web.Response:
    require_operator(request)
    action: DlqAction = await _json_body(request, DlqAction)
    ids = _selection(action)
    if not action.confirm:
        raise ProblemError(
            422, ProblemType.VALIDATION, "Confirmation required", 'purging needs "confirm": true'
        )
    async with _broker_needed(request):
        purged = await request.app[DEAD_LETTERS].purge(ids)
    return _json({"purged": purged})


async def maintenance_get(request: web.Request) -> web.Response:
    require_operator(request)
    return _json(maintenance.status(request.app[OPS_SETTINGS].maintenance_file))


async def maintenance_put(request: web.Request) -> web.Response:
    require_operator(request)
    switch: MaintenanceSwitch = await _json_body(request, MaintenanceSwitch)
    path = request.app[OPS_SETTINGS].maintenance_file
    return _json(maintenance.switch(path, switch.maintenance, switch.reason))


async def metrics(request: web.Request) -> web.Response:
    if request.app[OPS_SETTINGS].metrics_auth:
        require_operator(request)
    report = await request.app[QUEUE_MONITOR].report(REPORT_MAX_AGE)
    request.app[METRICS].update_queues(report)
    return request.app[METRICS].exposition()


# -- wiring --------------------------------------------------------------------------------


async def _ops_lifecycle(app: web.Application) -> AsyncIterator[None]:
    yield
    await app[QUEUE_MONITOR].close()
    await app[AMQP_LINK].close()


async def _observe_last(app: web.Application) -> None:
    # Last, so metrics count the answer the client gets (the audit trail may replace one).
    app[OBSERVERS].append(app[METRICS].observe)


def install(app: web.Application, settings: Settings) -> None:
    """Add the operator routes, metrics observer and maintenance check (after health.install)."""
    registry = app[REGISTRY]
    link = AmqpLink(settings.bus.url.get_secret_value(), settings.bus.connect_timeout)
    stats = ServiceStats(settings.ops.stats_window_seconds)
    app[OPS_SETTINGS] = settings.ops
    app[PAGES] = {name: _page(f"{name}.html") for name in ("dashboard", "login")}
    app[AMQP_LINK] = link
    app[QUEUE_MONITOR] = QueueMonitor(settings, registry.names, link)
    app[DEAD_LETTERS] = DeadLetters(link, settings.ops, settings.bus.publish_timeout)
    app[SERVICE_STATS] = stats
    app[METRICS] = GatewayMetrics(app[BUS], registry, stats)
    app.on_startup.append(_observe_last)
    app[READINESS_CHECKS].append(maintenance.readiness_check(settings.ops.maintenance_file))
    app.cleanup_ctx.append(_ops_lifecycle)
    r = app.router
    r.add_get("/ops", dashboard)
    r.add_post("/ops/login", login)
    r.add_get("/ops/queues", queues)
    r.add_get("/ops/services", services)
    r.add_get("/ops/dlq", dlq_list)
    r.add_post("/ops/dlq/replay", dlq_replay)
    r.add_post("/ops/dlq/purge", dlq_purge)
    r.add_get("/ops/dlq/{id}", dlq_show)
    r.add_get("/ops/maintenance", maintenance_get)
    r.add_put("/ops/maintenance", maintenance_put)
    r.add_get("/metrics", metrics)
