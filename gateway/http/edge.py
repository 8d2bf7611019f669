"""The edge middleware: request ids, the error boundary, one log line per request.

Everything cross-cutting that every request needs lives here, once. Access
logging is off in the server: this one structlog line replaces it at a
fraction of the cost.
"""

from __future__ import annotations

import re
import time
from collections.abc import Awaitable, Callable

import structlog
from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.logs import looks_personal
from gateway.http.state import CLIENT_ID, REQUEST_ID
from gateway.ids import new_id
from gateway.problems import ProblemError, from_http_exception, problem_response
from schemas.problems import Problem, ProblemType

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.gateway")

# Features that must see every answer (metrics, audit) register here. An observer
# gets the request, the final response and the duration; it may return a
# replacement response (the audit trail answers 503 when it cannot record).
Observer = Callable[[web.Request, web.StreamResponse, float], Awaitable[web.StreamResponse | None]]
OBSERVERS: web.AppKey[list[Observer]] = web.AppKey("observers")

REQUEST_ID_HEADER = "X-Request-ID"
# Well-formed: what we would be willing to put in a log line and a message id.
REQUEST_ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,127}")


def request_id_of(request: web.Request) -> str:
    """The client's X-Request-ID when well-formed and free of anything shaped like a personal
    identifier (it is logged, published and audited); a generated one otherwise."""
    supplied = request.headers.get(REQUEST_ID_HEADER, "")
    if REQUEST_ID_RE.fullmatch(supplied) and not looks_personal(supplied):
        return supplied
    return new_id()


@web.middleware
async def edge_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = request_id_of(request)
    request[REQUEST_ID] = rid
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(request_id=rid):
        try:
            response = await handler(request)
        except ProblemError as exc:
            response = problem_response(exc.problem, rid, exc.headers)
        except web.HTTPException as exc:
            if exc.status < 400:
                raise
            problem, headers = from_http_exception(exc)
            response = problem_response(problem, rid, headers)
        except Exception:
            log.exception("http.unhandled", path=request.path)
            response = problem_response(
                Problem(
                    type=ProblemType.INTERNAL,
                    title="Internal error",
                    status=500,
                    detail="an unexpected error; the request id identifies it in the logs",
                ),
                rid,
            )
        duration = time.perf_counter() - started
        for observe in request.app.get(OBSERVERS, ()):
            replacement = await observe(request, response, duration)
            if replacement is not None:
                response = replacement
        response.headers[REQUEST_ID_HEADER] = rid
        log.info(
            "http.request",
            request_id=rid,
            method=request.method,
            path=request.path,
            status=response.status,
            client=request.get(CLIENT_ID),
            duration_ms=round(duration * 1000, 2),
        )
        return response
