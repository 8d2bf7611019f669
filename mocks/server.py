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
from importlib.metadata import entry_points
from pathlib import Path

import structlog
from aiohttp import web
from pydantic import ValidationError

from mocks.data import ensure_dataset
from mocks.faults import parse_config, setup_faults
from mocks.logs import configure_logging
from mocks.settings import MockSettings
from mocks.stats import setup_stats

#: The entry-point group naming each mock system's set-up function, so a package
#: that adds an adapter can bring the mock of its central system too.
ENTRY_POINT_GROUP = "lgsp.mocks"
#: Connections still open this long after a stop request are closed.
SHUTDOWN_TIMEOUT_S = 5.0
#: Largest request body a mock reads; the real systems take small requests.
MAX_REQUEST_BYTES = 1024 * 1024

Setup = Callable[[web.Application, MockSettings, Path], None]


def systems() -> dict[str, Setup]:
    """The installed mock systems by name, from the ``lgsp.mocks`` entry points."""
    found: dict[str, Setup] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        found[ep.name] = ep.load()
    return dict(sorted(found.items()))


log = structlog.get_logger("mocks.server")


def build_app(system: str, settings: MockSettings, dataset: Path | None = None) -> web.Application:
    """The application of ``system`` (one of `systems()`: population, business, insurance ...).

    ``dataset`` defaults to the cached data set for ``settings``, built here
    (blocking) if missing.
    """
    installed = systems()
    if system not in installed:
        msg = f"unknown system {system!r}; expected one of {', '.join(installed)}"
        raise ValueError(msg)
    faults = parse_config(settings.faults)
    path = dataset if dataset is not None else ensure_dataset(settings)
    app = web.Application(client_max_size=MAX_REQUEST_BYTES)
    setup_faults(app, faults)
    setup_stats(app)
    installed[system](app, settings, path)

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
    parser.add_argument("system", choices=list(systems()))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument(
        "--port", type=int, default=0, help="default: a free port (`lgsp mock` passes the "
        "port of the adapter's base_url)"
    )  # fmt: skip
    args = parser.parse_args(argv)
    try:
        settings = MockSettings()  # secrets come from the environment
        parse_config(settings.faults)
    except ValidationError as exc:
        sys.stderr.write(f"mocks.server: invalid settings (LGSP_MOCK_*):\n{exc}\n")
        return 2
    configure_logging()
    dataset = ensure_dataset(settings)
    serve = _serve(args.system, settings, args.host, args.port, dataset)
    try:
        import uvloop  # optional: a faster event loop when installed
    except ImportError:
        asyncio.run(serve)
    else:
        uvloop.run(serve)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
