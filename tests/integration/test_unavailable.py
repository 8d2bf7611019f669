"""When nobody can do the work, callers hear so at once: 503 with Retry-After, never a hang."""

from __future__ import annotations

from typing import Any

import aio_pika

from mocks.settings import MockSettings
from schemas.envelope import REQUESTS_EXCHANGE, request_queue
from schemas.problems import ProblemType
from tests.support.rabbit import Rabbit
from tests.support.stack import running_stack

VERIFY = "/v1/population/citizen-verify"


async def test_no_consumer_gives_503_and_readiness_fails_until_a_worker_comes(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any], citizen: dict[str, Any]
) -> None:
    async with running_stack(rabbit, mock_settings, generated, workers=False) as stack:
        await stack.app_bus_connected()
        resp = await stack.post(VERIFY, citizen)
        assert resp.status == 503
        assert resp.headers["Retry-After"].isdigit()
        problem = await resp.json()
        assert problem["type"] == ProblemType.UNAVAILABLE
        assert problem["source"] == "adapter"
        ready = await stack.client.get("/readyz")
        assert ready.status == 503
        assert "no consumers" in (await ready.json())["detail"]

        for name in stack.registry.names:
            await stack.start_worker(name)
        await stack.wait_ready()
        assert (await stack.post(VERIFY, citizen)).status == 200
        assert (await stack.client.get("/readyz")).status == 200


async def test_an_unroutable_request_is_503_no_route_not_a_silent_loss(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any], citizen: dict[str, Any]
) -> None:
    async with running_stack(rabbit, mock_settings, generated) as stack:
        connection = await aio_pika.connect(rabbit.url)
        async with connection:
            channel = await connection.channel()
            queue = await channel.get_queue(request_queue("population"), ensure=False)
            await queue.unbind(REQUESTS_EXCHANGE, routing_key="population")
            before = await stack.central_calls()
            resp = await stack.post(VERIFY, citizen)
            assert resp.status == 503
            assert resp.headers["Retry-After"].isdigit()
            assert (await resp.json())["type"] == ProblemType.NO_ROUTE
            assert await stack.central_calls() == before
