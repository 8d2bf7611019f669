"""The peers: the straightforward alternatives an integrator would write, for comparison.

Two of them, each an aiohttp front and a worker that serves it by calling the
same central mock:

* *peer* (`front.py`, `worker.py`): aio-pika's own `aio_pika.patterns.JsonRPC`;
* *faststream* (`faststream_front.py`, `faststream_worker.py`): FastStream's
  RabbitMQ request/reply, `broker.request(...)` answered by a subscriber.

Each is written as its library's documentation shows, with the usual care
(uvloop, one `ClientSession`, no access log), and reuses our wire mapping
(adapters/population/wire.py) so that the comparison measures the plumbing, not
the XML code. They carry no authentication, audit or purpose checks: the
gateway does all of that on top.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import uvloop
from aiohttp import web
from aiohttp.typedefs import Handler

ENVIRONMENT = "LGSP_BENCH_PEER"
METHOD = "citizen_verify"
# The FastStream peer's request queue, and the header its worker puts the HTTP status in.
FASTSTREAM_QUEUE = "lgsp-bench.faststream.citizen-verify"
STATUS_HEADER = "x-peer-status"
# The caller's deadline, as the gateway's default.
TIMEOUT_S = 10.0


@dataclass(frozen=True, slots=True)
class PeerConfig:
    amqp_url: str
    port: int = 0
    central_url: str = ""
    client: str = ""
    user: str = ""
    api_key: str = ""
    secret: str = ""
    prefetch: int = 64

    @classmethod
    def from_environment(cls) -> PeerConfig:
        """Read from `LGSP_BENCH_PEER` (JSON): secrets never travel on the command line."""
        return cls(**json.loads(os.environ[ENVIRONMENT]))

    def to_environment(self) -> dict[str, str]:
        return {ENVIRONMENT: json.dumps(dataclasses.asdict(self))}


async def serve_front(
    config: PeerConfig,
    verify: Handler,
    bus: Callable[[web.Application], AsyncIterator[None]],
) -> None:
    """A peer's HTTP front: `verify` at the gateway's path, `bus` as its cleanup context."""
    app = web.Application()
    app.cleanup_ctx.append(bus)
    app.router.add_post("/v1/population/citizen-verify", verify)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", config.port, backlog=2048).start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def run_front(verify: Handler, bus: Callable[[web.Application], AsyncIterator[None]]) -> int:
    uvloop.run(serve_front(PeerConfig.from_environment(), verify, bus))
    return 0
