"""Fault injection: the ways a central system lets its callers down.

One ``FaultConfig`` per mock, replaced at run time through the admin API:

    GET    /_admin/faults   the current configuration (JSON)
    PUT    /_admin/faults   replace it (a JSON ``FaultConfig``; unknown keys are a 400)
    DELETE /_admin/faults   back to no faults (and release any hung request)
    GET    /_admin/faults/injected
                            {"hanging": n, "injected": {"error": n, ...}}: what the
                            current configuration has done so far

The middleware applies to the system's own endpoints, never to ``/_admin/*``.
For each request that ``paths`` selects, in this order:

1. ``outage_seconds``: during the window that starts when the configuration
   is set, every request gets 503 with ``Retry-After`` (nothing else runs);
2. ``latency_ms`` + uniform(0, ``latency_jitter_ms``) of delay;
3. one independent draw per fault kind, in the order reset, hang, error,
   redirect, malformed, oversized; the first that fires decides. Reset, hang,
   error and redirect answer without calling the handler; malformed and
   oversized call it and then spoil its answer.

Random draws use ``random`` (optionally seeded for reproducible runs): this
is test machinery, never a secret.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import time
from collections import Counter

from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel, ConfigDict, Field, ValidationError

#: A hung request is held at most this long by default, then dropped.
DEFAULT_HANG_S = 120.0
DEFAULT_OVERSIZED_BYTES = 10 * 1024 * 1024

Rate = Field(default=0.0, ge=0.0, le=1.0)


class FaultConfig(BaseModel):
    """What a mock does wrong, and how often. All rates are 0..1."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    latency_ms: int = Field(default=0, ge=0, le=600_000)
    latency_jitter_ms: int = Field(default=0, ge=0, le=600_000)
    error_rate: float = Rate
    error_status: int = Field(default=503, ge=400, le=599)
    hang_rate: float = Rate
    hang_max_s: float = Field(default=DEFAULT_HANG_S, gt=0, le=3600)
    reset_rate: float = Rate
    outage_seconds: float = Field(default=0.0, ge=0, le=86_400)
    malformed_rate: float = Rate
    oversized_rate: float = Rate
    oversized_bytes: int = Field(default=DEFAULT_OVERSIZED_BYTES, ge=1, le=512 * 1024 * 1024)
    redirect_rate: float = Rate
    redirect_location: str = "http://moved.example.invalid/"
    paths: list[str] | None = None  # path prefixes; None means every endpoint
    seed: int | None = None


class FaultState:
    """The configuration in force, its outage window and its random stream."""

    def __init__(self, config: FaultConfig) -> None:
        self._release = asyncio.Event()
        self.config = config
        self.outage_until = 0.0
        self.rng = random.Random()
        self.hanging = 0
        self.injected: Counter[str] = Counter()
        self.replace(config)

    def replace(self, config: FaultConfig) -> None:
        self.config = config
        self.outage_until = time.monotonic() + config.outage_seconds
        self.rng = random.Random(config.seed)
        self.injected = Counter()
        self.release_hangs()

    def release_hangs(self) -> None:
        """Let every hung request go (it is then dropped without an answer)."""
        self._release.set()
        self._release = asyncio.Event()

    def applies_to(self, path: str) -> bool:
        if path.startswith("/_admin/"):
            return False
        paths = self.config.paths
        return paths is None or any(path.startswith(p) for p in paths)

    def fires(self, kind: str, rate: float) -> bool:
        if rate > 0.0 and self.rng.random() < rate:
            self.injected[kind] += 1
            return True
        return False

    async def hang(self) -> None:
        self.hanging += 1
        try:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.hang_max_s):
                    await self._release.wait()
        finally:
            self.hanging -= 1


FAULTS = web.AppKey("mocks.faults", FaultState)


def _drop_connection(request: web.Request) -> web.Response:
    """Abort the TCP connection so the client sees a reset and no answer."""
    transport = request.transport
    if transport is not None:
        sock = transport.get_extra_info("socket")
        if sock is not None:
            # SO_LINGER with a zero timeout turns close() into a RST.
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()
    # Nothing will be written: the transport is gone. aiohttp needs a
    # response object all the same.
    return web.Response(status=499)


def _malformed(response: web.Response) -> web.Response:
    body = response.body if isinstance(response.body, bytes) else b""
    # Cut mid-document: the status says success, the body does not parse.
    response.body = body[: max(1, len(body) // 2)] if body else b"<"
    response.set_status(200)
    return response


def _oversized(response: web.Response, size: int) -> web.Response:
    body = response.body if isinstance(response.body, bytes) else b""
    pad = max(0, size - len(body))
    # Whitespace before the closing tag (XML) or the last bracket (JSON)
    # keeps the document valid: only its size is wrong.
    cut = body.rfind(b"</") if b"</" in body else max(len(body) - 1, 0)
    response.body = body[:cut] + b" " * pad + body[cut:]
    return response


@web.middleware
async def faults_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    state = request.app[FAULTS]
    if not state.applies_to(request.path):
        return await handler(request)
    config = state.config
    remaining = state.outage_until - time.monotonic()
    if remaining > 0:
        state.injected["outage"] += 1
        return web.Response(
            status=503,
            text="Service unavailable (injected outage)\n",
            headers={"Retry-After": str(max(1, round(remaining)))},
        )
    delay_ms = float(config.latency_ms)
    if config.latency_jitter_ms:
        delay_ms += state.rng.uniform(0, config.latency_jitter_ms)
    if delay_ms > 0:
        await asyncio.sleep(delay_ms / 1000)
    if state.fires("reset", config.reset_rate):
        return _drop_connection(request)
    if state.fires("hang", config.hang_rate):
        await state.hang()
        return _drop_connection(request)
    if state.fires("error", config.error_rate):
        return web.Response(status=config.error_status, text="Injected fault\n")
    if state.fires("redirect", config.redirect_rate):
        return web.Response(status=302, headers={"Location": config.redirect_location})
    spoil_malformed = state.fires("malformed", config.malformed_rate)
    spoil_oversized = not spoil_malformed and state.fires("oversized", config.oversized_rate)
    response = await handler(request)
    if isinstance(response, web.Response):
        if spoil_malformed:
            return _malformed(response)
        if spoil_oversized:
            return _oversized(response, config.oversized_bytes)
    return response


async def _get(request: web.Request) -> web.Response:
    return web.json_response(request.app[FAULTS].config.model_dump(mode="json"))


async def _injected(request: web.Request) -> web.Response:
    state = request.app[FAULTS]
    return web.json_response({"hanging": state.hanging, "injected": dict(state.injected)})


async def _put(request: web.Request) -> web.Response:
    try:
        config = FaultConfig.model_validate_json(await request.read())
    except ValidationError as exc:
        return web.json_response(
            {"error": "invalid fault configuration",
             "details": exc.errors(include_url=False, include_context=False, include_input=False)},
            status=400,
        )  # fmt: skip
    request.app[FAULTS].replace(config)
    return web.json_response(config.model_dump(mode="json"))


async def _delete(request: web.Request) -> web.Response:
    config = FaultConfig()
    request.app[FAULTS].replace(config)
    return web.json_response(config.model_dump(mode="json"))


async def _release_on_shutdown(app: web.Application) -> None:
    # A hung request would otherwise hold the server's shutdown for up to
    # hang_max_s.
    app[FAULTS].release_hangs()


def parse_config(text: str) -> FaultConfig:
    """The configuration a mock starts with (``LGSP_MOCK_FAULTS``)."""
    return FaultConfig.model_validate_json(text) if text.strip() else FaultConfig()


def setup_faults(app: web.Application, initial: FaultConfig) -> None:
    """Give ``app`` fault injection: state, middleware and admin routes.

    Call before any other middleware is added, so that faults wrap them all.
    """
    app[FAULTS] = FaultState(initial)
    app.middlewares.append(faults_middleware)
    app.router.add_get("/_admin/faults", _get)
    app.router.add_put("/_admin/faults", _put)
    app.router.add_delete("/_admin/faults", _delete)
    app.router.add_get("/_admin/faults/injected", _injected)
    app.on_shutdown.append(_release_on_shutdown)
