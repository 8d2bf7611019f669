"""The FastStream peer's worker: a `RabbitBroker` subscriber that answers each request.

Written as FastStream's documentation shows ("RPC over RMQ"): a subscriber that returns a
value answers the request's `reply_to` by itself. It calls the population mock through the
same client as the aio-pika peer (bench/peers/worker.py), so that the two peers differ in
the plumbing only.

Run: `LGSP_BENCH_PEER='{"amqp_url": ..., "central_url": ..., ...}' \
python -m bench.peers.faststream_worker`.
"""

from __future__ import annotations

import logging
from typing import Any

import aiohttp
import uvloop
from faststream import FastStream
from faststream.rabbit import Channel, RabbitBroker, RabbitResponse

from bench.peers import FASTSTREAM_QUEUE, STATUS_HEADER, TIMEOUT_S, PeerConfig
from bench.peers.worker import Central


def build(config: PeerConfig, central: Central) -> FastStream:
    """The application: one broker, one subscriber on the lookup's queue."""
    broker = RabbitBroker(
        config.amqp_url,
        # As many lookups at once as the aio-pika peer and our worker take (their prefetch).
        default_channel=Channel(prefetch_count=config.prefetch),
        # FastStream logs every message at this level; below the logger's, it costs nothing.
        log_level=logging.DEBUG,
    )

    @broker.subscriber(FASTSTREAM_QUEUE)
    async def citizen_verify(body: dict[str, Any]) -> RabbitResponse:
        try:
            answer = await central.citizen_verify(**body)
        except (LookupError, ValueError, aiohttp.ClientError, TimeoutError) as exc:
            return RabbitResponse({"error": type(exc).__name__}, headers={STATUS_HEADER: 502})
        return RabbitResponse(answer, headers={STATUS_HEADER: 200})

    return FastStream(broker)


async def serve(config: PeerConfig) -> None:
    timeout = aiohttp.ClientTimeout(total=TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=config.prefetch)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector) as session:
        # FastStream's `run` stops on SIGTERM and SIGINT.
        await build(config, Central(config, session)).run(log_level=logging.WARNING)


def main() -> int:
    uvloop.run(serve(PeerConfig.from_environment()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
