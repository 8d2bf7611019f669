"""Run one mock: ``python -m mocks.server SYSTEM [--host H] [--port N]``.

``build_app`` assembles a system's application (fault injection outermost,
then the call counters, then the system's routes); ``start`` serves it
in-process on a free port for tests; ``main`` is the command line that the
``lgsp mock <system>`` command delegates to. Every mock also answers
``GET /_admin/health`` (``{"system": ..., "status": "ok"}``, never faulted)
so that scripts can wait for it to be up.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
from collections.abc import Callable
from pathlib import Path

import structlog
from aiohttp import web
from pydantic import ValidationError

from mocks.business import setup_business
from mocks.data import ensure_dataset
from mocks.faults import parse_config, setup_faults
from mocks.insurance import setup_insurance
from mocks.logs import configure_logging
from mocks.population import setup_population
from mocks.settings import SYSTEMS, MockSettings
from mocks.stats import setup_stats

DEFAULT_PORTS = {"population": 8701, "business": 8702, "insurance": 8703}
#: Connections still open this long after a stop request are closed.
SHUTDOWN_TIMEOUT_S = 5.0
#: Largest request body a mock reads; the real systems take small requests.
MAX_REQUEST_BYTES = 1024 * 1024

_SETUP: dict[str, Callable[[web.Application, MockSettings, Path], None]] = {
    "population": setup_population,
    "business": setup_business,
    "insurance": setup_insurance,
}

log = structlog.get_logger("mocks.server")


def build_app(system: str, settings: MockSettings, dataset: Path | None = None) -> web.Application:
    """The application of ``system`` (population, business or insurance).

    ``dataset`` defaults to the cached data set for ``settings``, built here
    (blocking) if missing.
    """
    if system not in _SETUP:
        msg = f"unknown system {system!r}; expected one of {', '.join(SYSTEMS)}"
        raise ValueError(msg)
    faults = parse_config(settings.faults)
    path = dataset if dataset is not None else ensure_dataset(settings)
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    setup_faults(app, faults)
    setup_stats(app)
    _SETUP[system](app, settings, path)

    async def health(_: web.Request) -> web.Response:
        return web.json_response({"system": system, "status": "ok"})

    app.router.add_get("/_admin/health", health)
    return app


async def start(
    system: str,
    settings: MockSettings,
    host: str = "127.0.0.1",
    port: int = 0,
    *,
    dataset: Path | None = None,
) -> tuple[web.AppRunner, int]:
    """Serve ``system`` in this event loop; returns the runner and the bound port.

    Stop it with ``await runner.cleanup()``.
    """
    if dataset is None:
        dataset = await asyncio.to_thread(ensure_dataset, settings)
    app = build_app(system, settings, dataset)
    runner = web.AppRunner(
        app,
        access_log=None,  # an access line per call costs throughput
        handler_cancellation=True,  # a client that gives up frees its handler
        shutdown_timeout=SHUTDOWN_TIMEOUT_S,
    )
    await runner.setup()
    site = web.TCPSite(runner, host, port, backlog=1024)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    bound = runner.addresses[0][1]
    return runner, int(bound)


async def _serve(system: str, settings: MockSettings, host: str, port: int, dataset: Path) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    runner, bound = await start(system, settings, host, port, dataset=dataset)
    log.info("mocks.started", system=system, host=host, port=bound)
    try:
        await stop.wait()
    finally:
        await runner.cleanup()
        log.info("mocks.stopped", system=system)


def main(argv: list[str] | None = None) -> int:
    """``SYSTEM [--host 127.0.0.1] [--port N]``: serve until SIGTERM or SIGINT."""
    parser = argparse.ArgumentParser(prog="mocks.server", description=__doc__.split("\n\n")[0])
    parser.add_argument("system", choices=SYSTEMS)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, help="default: population 8701, business 8702, "
                        "insurance 8703")  # fmt: skip
    args = parser.parse_args(argv)
    try:
        settings = MockSettings()  # secrets come from the environment
        parse_config(settings.faults)
    except ValidationError as exc:
        sys.stderr.write(f"mocks.server: invalid settings (LGSP_MOCK_*):\n{exc}\n")
        return 2
    configure_logging()
    dataset = ensure_dataset(settings)
    port = args.port if args.port is not None else DEFAULT_PORTS[args.system]
    serve = _serve(args.system, settings, args.host, port, dataset)
    try:
        import uvloop  # optional: a faster event loop when installed
    except ImportError:
        asyncio.run(serve)
    else:
        uvloop.run(serve)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
