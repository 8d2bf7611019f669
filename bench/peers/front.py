"""The peer's HTTP front: `POST /v1/population/citizen-verify` over aio-pika's JsonRPC.

Run: `LGSP_BENCH_PEER='{"amqp_url": ..., "port": ...}' python -m bench.peers.front`.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import orjson
from aio_pika.exceptions import AMQPError, MessageProcessError
from aio_pika.patterns import JsonRPC
from aio_pika.patterns.rpc import JsonRPCError
from aiohttp import web
from pydantic import ValidationError

from bench.peers import METHOD, TIMEOUT_S, PeerConfig, run_front
from schemas.population import CitizenVerifyRequest

RPC = web.AppKey("rpc", JsonRPC)
PURPOSE = {"officer_id": "LGSP-Officer-Id", "procedure_code": "LGSP-Procedure-Code"}


def _json(status: int, body: Any) -> web.Response:
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


async def verify(request: web.Request) -> web.Response:
    try:
        model = CitizenVerifyRequest.model_validate_json(await request.read())
    except ValidationError as exc:
        return _json(422, {"error": f"{exc.error_count()} problem(s) in the body"})
    purpose = {key: request.headers.get(header, "") for key, header in PURPOSE.items()}
    try:
        result = await asyncio.wait_for(
            request.app[RPC].call(
                METHOD,
                kwargs={**model.model_dump(mode="json"), **purpose},
                expiration=int(TIMEOUT_S),
            ),
            TIMEOUT_S,
        )
    except TimeoutError:
        return _json(504, {"error": "no answer in time"})
    except JsonRPCError as exc:
        return _json(502, {"error": str(exc)})
    except (MessageProcessError, AMQPError):
        return _json(503, {"error": "no worker"})
    return _json(200, result)


async def _bus(app: web.Application) -> AsyncIterator[None]:
    config = PeerConfig.from_environment()
    connection = await aio_pika.connect_robust(config.amqp_url)
    channel = await connection.channel()
    rpc = await JsonRPC.create(channel)
    assert isinstance(rpc, JsonRPC)  # `create` is typed as returning the base class
    app[RPC] = rpc
    yield
    await connection.close()


def main() -> int:
    return run_front(verify, _bus)


if __name__ == "__main__":
    raise SystemExit(main())
