"""Serving the gateway: one or more processes, graceful shutdown on SIGTERM.

On SIGTERM (or SIGINT) the listening socket closes first, in-flight requests
finish up to `shutdown_grace` seconds, the bus connection closes, and the
process exits 0. With `processes > 1`, extra processes share the port through
SO_REUSEPORT and the kernel spreads connections over them.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys

import structlog
from aiohttp import web

from adapters.registry import Registry
from gateway.app import create_app
from gateway.connections import start_serving
from gateway.security.tls import server_ssl_context
from schemas.config import Settings

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.gateway")


async def serve(app: web.Application, settings: Settings, *, reuse_port: bool = False) -> None:
    gw = settings.gateway
    ssl_context = server_ssl_context(settings.tls)  # HTTPS, and mTLS, when configured
    # Connection caps, time bounds and echo-free parse errors: gateway/connections.py.
    runner, _site = await start_serving(app, gw, ssl_context=ssl_context, reuse_port=reuse_port)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    scheme = "https" if ssl_context else "http"
    log.info("gateway.listening", url=f"{scheme}://{gw.host}:{gw.port}")
    await stop.wait()
    log.info("gateway.stopping", grace_s=gw.shutdown_grace)
    await runner.cleanup()
    log.info("gateway.stopped")


def run_gateway(settings: Settings, processes: int = 1, *, reuse_port: bool = False) -> int:
    import uvloop

    children: list[subprocess.Popen[bytes]] = []
    if processes > 1:
        # Extra processes are plain re-invocations: the same settings, one process each.
        cmd = [sys.executable, "-m", "gateway.cli", "gateway", "--processes", "1", "--reuse-port"]
        children = [subprocess.Popen(cmd) for _ in range(processes - 1)]
    try:
        app = create_app(settings, Registry.discover())
        uvloop.run(serve(app, settings, reuse_port=reuse_port or processes > 1))
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(timeout=settings.gateway.shutdown_grace + 5)
    return 0
