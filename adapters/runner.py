"""Running one adapter's worker as a process: signals, event loop, exit code."""

from __future__ import annotations

import asyncio
import signal

import structlog
import uvloop

from adapters.errors import ConfigError
from adapters.metrics import serve_metrics
from adapters.registry import Registry
from adapters.worker import Worker
from schemas.config import Settings

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.worker")


async def serve_worker(worker: Worker) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, worker.stop)
    ws = worker.settings.worker
    # Port 0: no metrics endpoint (several workers on one machine each need their own port).
    metrics = (
        await serve_metrics(worker.metrics, ws.metrics_host, ws.metrics_port)
        if ws.metrics_port
        else None
    )
    try:
        await worker.run()
    finally:
        if metrics is not None:
            await metrics.cleanup()
    log.info("worker.stopped", adapter=worker.adapter.name)


def run_worker(adapter_name: str, settings: Settings) -> int:
    registry = Registry.discover()
    adapter = registry.adapter(adapter_name)
    if adapter is None:
        raise ConfigError(
            f"no adapter named {adapter_name!r}; installed: {', '.join(registry.names) or 'none'}"
        )
    if adapter_name not in settings.adapters:
        raise ConfigError(
            f"adapter {adapter_name!r} is installed but not configured: run `lgsp init` "
            f"(it adds [adapters.{adapter_name}] with its base URL and demo credentials)"
        )
    uvloop.run(serve_worker(Worker(adapter, settings)))
    return 0
