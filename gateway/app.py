"""Assembling the gateway application from the settings and the adapter registry."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from adapters.registry import Registry
from gateway import auth, health, openapi, ops
from gateway.bus import Bus
from gateway.edge import OBSERVERS, edge_middleware
from gateway.operations import BUS, GATEWAY_SETTINGS, REGISTRY, call_operation
from schemas.config import Settings


async def _bus_lifecycle(app: web.Application) -> AsyncIterator[None]:
    await app[BUS].start()
    yield
    await app[BUS].stop()


def create_app(settings: Settings, registry: Registry) -> web.Application:
    app = web.Application(
        client_max_size=settings.gateway.max_body_bytes,
        middlewares=[edge_middleware],
    )
    app[GATEWAY_SETTINGS] = settings.gateway
    app[REGISTRY] = registry
    app[BUS] = Bus(settings.bus, registry.names, settings.gateway.retry_after_seconds)
    app[OBSERVERS] = []
    app.cleanup_ctx.append(_bus_lifecycle)
    health.install(app)
    ops.install(app, settings)
    auth.install(app, settings)
    openapi.install(app, settings)
    app.router.add_post("/v1/{adapter}/{operation}", call_operation)
    return app
