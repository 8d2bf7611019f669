"""Connection hygiene: how many connections, for how long, and what a broken request gets.

aiohttp serves connections through one protocol object each
(`web.RequestHandler`); this module gives the gateway's listening site its own
subclass, without patching aiohttp:

- **A cap on open connections**, per gateway process: `gateway.max_connections`
  in total and `gateway.max_connections_per_address` per client address. One
  more is answered at once with a 503 problem document and closed (a client that
  already sent its request may see only the close), before any byte of it is
  parsed.
- **Time bounds.** An idle connection, or one whose next request's headers are
  not complete, is closed `gateway.keepalive_timeout` seconds after it opened or
  after its last answer (aiohttp's keep-alive timer, armed from the first byte:
  the slow-header bound). A body must arrive within `gateway.body_timeout`
  (gateway/http/receiving.py, 408), after which the connection is closed: the
  gateway does not linger reading the rest of a body it has answered
  (`LINGER_SECONDS`; aiohttp's default is 10 s of reading whatever comes).
- **Requests aiohttp cannot parse** (a bad request line, a header too long, a
  malformed chunk) get a problem document (`malformed-body`, 400) that echoes
  nothing of the request, instead of aiohttp's `text/plain` page quoting the
  offending bytes; they are logged by exception class only.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from http import HTTPStatus
from typing import Any, cast

import orjson
import structlog
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from gateway.ids import new_id
from gateway.problems import HTTP_PROBLEMS
from schemas.config import GatewaySettings
from schemas.problems import PROBLEM_CONTENT_TYPE, Problem, ProblemType

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.gateway")

LINGER_SECONDS = 0.0  # reading what is left of a body the gateway has already answered
MAX_LINE = 8190  # request line and each header field, bytes


def _refusal() -> bytes:
    body = orjson.dumps(
        Problem(
            type=ProblemType.UNAVAILABLE,
            title="Too many connections",
            status=503,
            detail="the gateway's connection limit is reached; retry shortly",
        ).model_dump(exclude={"errors"})
    )
    head = (
        "HTTP/1.1 503 Service Unavailable\r\n"
        f"Content-Type: {PROBLEM_CONTENT_TYPE}\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Retry-After: 1\r\nConnection: close\r\n\r\n"
    )
    return head.encode() + body


REFUSAL = _refusal()


class ConnectionGuard:
    """Counts open connections in total and per address; refuses beyond the caps."""

    def __init__(self, max_total: int, max_per_address: int) -> None:
        self.max_total = max_total
        self.max_per_address = max_per_address
        self.open = 0
        self.by_address: Counter[str] = Counter()
        self.refused: Counter[str] = Counter()

    def admit(self, address: str) -> bool:
        if self.open >= self.max_total:
            self.refused["total"] += 1
            return False
        if self.by_address[address] >= self.max_per_address:
            self.refused["address"] += 1
            return False
        self.open += 1
        self.by_address[address] += 1
        return True

    def release(self, address: str) -> None:
        self.open -= 1
        self.by_address[address] -= 1
        if self.by_address[address] <= 0:
            del self.by_address[address]

    def collect(self) -> Iterator[Metric]:
        """Prometheus collector: open connections, and those refused at a cap."""
        yield GaugeMetricFamily(
            "lgsp_gateway_connections", "Open client connections (this process).", self.open
        )
        refused = CounterMetricFamily(
            "lgsp_gateway_connections_refused",
            "Connections answered 503 at a cap (limit: total or address).",
            labels=["limit"],
        )
        for limit in ("address", "total"):
            refused.add_metric([limit], self.refused[limit])
        yield refused


CONNECTION_GUARD = web.AppKey("connection_guard", ConnectionGuard)


class GatewayProtocol(web.RequestHandler):
    """aiohttp's protocol, with the connection caps and an echo-free answer to parse errors."""

    def __init__(self, manager: web.Server, *, guard: ConnectionGuard, **kwargs: Any) -> None:
        super().__init__(manager, **kwargs)
        self._guard = guard
        self._address: str | None = None
        self._refused = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        peer = transport.get_extra_info("peername")
        address = str(peer[0]) if isinstance(peer, tuple) and peer else "-"
        if not self._guard.admit(address):
            self._refused = True
            # uvloop's TCP transport is not an `asyncio.Transport` subclass, but writes like one.
            writer = cast(asyncio.Transport, transport)
            writer.write(REFUSAL)
            writer.close()  # after the buffered answer is written
            return
        self._address = address
        super().connection_made(transport)

    def data_received(self, data: bytes) -> None:
        if not self._refused:
            super().data_received(data)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._refused:
            return
        if self._address is not None:
            self._guard.release(self._address)
            self._address = None
        super().connection_lost(exc)

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,  # noqa: ARG002 (aiohttp's text: it quotes the request)
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            raise ConnectionError("a response was started; the connection is closed instead")
        log.info("http.rejected", status=status, reason=type(exc).__name__ if exc else None)
        default = {504: ProblemType.DEADLINE}.get(
            status, ProblemType.INTERNAL if status >= 500 else ProblemType.MALFORMED
        )
        problem_type, title = HTTP_PROBLEMS.get(status, (default, HTTPStatus(status).phrase))
        if status == 400:
            title = "Malformed HTTP request"
        rid = new_id()
        detail = (
            "the request line, a header or the body's framing could not be parsed"
            if status < 500
            else "the request could not be handled; the request id identifies it in the logs"
        )
        problem = Problem(
            type=problem_type, title=title, status=status, detail=detail, request_id=rid
        )
        response = web.Response(
            body=orjson.dumps(problem.model_dump(exclude={"errors"})),
            status=status,
            content_type=PROBLEM_CONTENT_TYPE,
            headers={"X-Request-ID": rid},
        )
        response.force_close()
        return response


class GuardedSite(web.BaseSite):
    """A TCP site whose connections are `GatewayProtocol`s (aiohttp's `TCPSite`, otherwise)."""

    def __init__(
        self,
        runner: web.BaseRunner,
        settings: GatewaySettings,
        guard: ConnectionGuard,
        *,
        ssl_context: Any = None,
        backlog: int = 2048,
        reuse_port: bool = False,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context, backlog=backlog)
        self.settings = settings
        self.guard = guard
        self.reuse_port = reuse_port
        self.bound_port = settings.port

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self.settings.host}:{self.bound_port}"

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        loop = asyncio.get_running_loop()
        handler_args: dict[str, Any] = {
            "loop": loop,
            "access_log": None,  # one structlog line per request instead (gateway/http/edge.py)
            "keepalive_timeout": self.settings.keepalive_timeout,
            "lingering_time": LINGER_SECONDS,
            "max_line_size": MAX_LINE,
            "max_field_size": MAX_LINE,
        }

        def protocol() -> GatewayProtocol:
            return GatewayProtocol(server, guard=self.guard, **handler_args)

        self._server = await loop.create_server(
            protocol,
            self.settings.host,
            self.settings.port,
            ssl=self._ssl_context,
            backlog=self._backlog,
            reuse_port=self.reuse_port,
        )
        sockets = self._server.sockets
        if sockets:
            self.bound_port = sockets[0].getsockname()[1]


async def start_serving(
    app: web.Application,
    settings: GatewaySettings,
    *,
    ssl_context: Any = None,
    reuse_port: bool = False,
) -> tuple[web.AppRunner, GuardedSite]:
    """Set the app up and listen; `runner.cleanup()` stops both."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=settings.shutdown_grace)
    await runner.setup()
    guard = app.get(CONNECTION_GUARD) or ConnectionGuard(
        settings.max_connections, settings.max_connections_per_address
    )
    site = GuardedSite(runner, settings, guard, ssl_context=ssl_context, reuse_port=reuse_port)
    await site.start()
    return runner, site
