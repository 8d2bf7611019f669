"""The FastStream peer's HTTP front: `POST /v1/population/citizen-verify` over `broker.request`.

Written as FastStream's documentation shows ("RPC over RMQ"): one `RabbitBroker`, and
`await broker.request(body, queue=...)` per call, which publishes with RabbitMQ's direct
reply-to and waits for the answer. FastStream 0.7 holds a lock around each request (a
direct reply-to consumer is set up and cancelled per call), so one front has one request
on the bus at a time: that is the documented way, and the benchmark measures it as is.

Run: `LGSP_BENCH_PEER='{"amqp_url": ..., "port": ...}' python -m bench.peers.faststream_front`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aio_pika.exceptions import AMQPError
from aiohttp import web
from faststream.rabbit import RabbitBroker
from pydantic import ValidationError

from bench.peers import FASTSTREAM_QUEUE, STATUS_HEADER, TIMEOUT_S, PeerConfig, run_front
from bench.peers.front import PURPOSE
from schemas.population import CitizenVerifyRequest

BROKER = web.AppKey("broker", RabbitBroker)


def _json(status: int, body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


async def verify(request: web.Request) -> web.Response:
    try:
        model = CitizenVerifyRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        return _json(422, {"error": f"{exc.error_count()} problem(s) in the body"})
    purpose = {key: request.headers.get(header, "") for key, header in PURPOSE.items()}
    try:
        answer = await request.app[BROKER].request(
            {**model.model_dump(mode="json"), **purpose},
            queue=FASTSTREAM_QUEUE,
            timeout=TIMEOUT_S,
            expiration=int(TIMEOUT_S),
        )
    except TimeoutError:
        return _json(504, {"error": "no answer in time"})
    except AMQPError:
        return _json(503, {"error": "no worker"})
    status = int(answer.headers.get(STATUS_HEADER, 502))
    return web.Response(body=answer.body, status=status, content_type="application/json")


async def _bus(app: web.Application) -> AsyncIterator[None]:
    config = PeerConfig.from_environment()
    broker = RabbitBroker(config.amqp_url, log_level=logging.DEBUG)
    await broker.start()
    app[BROKER] = broker
    yield
    await broker.stop()


def main() -> int:
    return run_front(verify, _bus)


if __name__ == "__main__":
    raise SystemExit(main())
