"""What the bus guarantees: poison and expired messages are dead-lettered with a reason,
never worked on and never looped; conflicting topology fails fast and clearly."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import aio_pika
import pytest
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from adapters.errors import TopologyError
from adapters.registry import Registry
from adapters.worker import Worker
from schemas.envelope import DEAD_LETTER_QUEUE, REQUESTS_EXCHANGE, Header, request_queue
from tests.support.rabbit import Rabbit
from tests.support.stack import Stack

VERIFY = "/v1/population/citizen-verify"


@pytest.fixture
async def channel(rabbit: Rabbit) -> AsyncIterator[AbstractChannel]:
    connection = await aio_pika.connect(rabbit.url)
    async with connection:
        yield await connection.channel()


async def publish_raw(
    channel: AbstractChannel, body: bytes, *, type_: str, deadline_ms: int | None, **props: Any
) -> None:
    headers: dict[str, Any] = {} if deadline_ms is None else {Header.DEADLINE: deadline_ms}
    exchange = await channel.get_exchange(REQUESTS_EXCHANGE)
    await exchange.publish(
        aio_pika.Message(body, type=type_, headers=headers, message_id="raw-0001", **props),
        routing_key="population",
    )


async def next_dead_letter(channel: AbstractChannel, within: float = 10) -> AbstractIncomingMessage:
    queue = await channel.declare_queue(DEAD_LETTER_QUEUE, passive=True)
    async with asyncio.timeout(within):
        while True:
            message = await queue.get(fail=False)
            if message is not None:
                await message.ack()
                return message
            await asyncio.sleep(0.05)


def in_ms(seconds: float) -> int:
    return int((time.time() + seconds) * 1000)


@pytest.mark.parametrize(
    ("body", "type_", "reason"),
    [
        (b"\x00\xff garbage", "population/citizen-verify", "undecodable"),
        (b'{"personal_id": 1}', "population/citizen-verify", "schema-invalid"),
        (b"{}", "population/no-such-operation", "unknown-operation"),
    ],
)
async def test_poison_is_dead_lettered_with_its_reason_and_traffic_flows_on(
    stack: Stack,
    channel: AbstractChannel,
    citizen: dict[str, Any],
    body: bytes,
    type_: str,
    reason: str,
) -> None:
    before = await stack.central_calls()
    await publish_raw(channel, body, type_=type_, deadline_ms=in_ms(30))
    dead = await next_dead_letter(channel)
    assert dead.headers[Header.REASON] == reason
    assert dead.headers[Header.ORIGIN_QUEUE] == request_queue("population")
    assert dead.body == body
    assert await stack.central_calls() == before
    resp = await stack.post(VERIFY, citizen)
    assert resp.status == 200


async def test_message_past_its_deadline_never_reaches_the_central_system(
    stack: Stack, channel: AbstractChannel, citizen: dict[str, Any]
) -> None:
    before = await stack.central_calls()
    body = (
        f'{{"personal_id": "{citizen["personal_id"]}", "full_name": "{citizen["full_name"]}", '
        f'"date_of_birth": "{citizen["date_of_birth"]}"}}'
    ).encode()
    # Delivered (no broker TTL) but its deadline is gone: the worker must refuse to work on it.
    await publish_raw(channel, body, type_="population/citizen-verify", deadline_ms=in_ms(-1))
    dead = await next_dead_letter(channel)
    assert dead.headers[Header.REASON] == "expired"
    assert await stack.central_calls() == before


async def test_expired_in_the_queue_is_dead_lettered_by_the_broker(
    rabbit: Rabbit, stack: Stack, channel: AbstractChannel, citizen: dict[str, Any]
) -> None:
    await stack.stop_workers("population")
    before = await stack.central_calls()
    await publish_raw(
        channel, b"{}", type_="population/citizen-verify", deadline_ms=in_ms(0.2), expiration=0.2
    )
    dead = await next_dead_letter(channel)
    assert dead.headers["x-first-death-reason"] == "expired"
    await stack.start_worker("population")
    await stack.wait_ready()
    assert (await stack.post(VERIFY, citizen)).status == 200
    assert await stack.central_calls() == before + 1


async def test_conflicting_queue_arguments_fail_fast_with_a_clear_message(
    rabbit: Rabbit, channel: AbstractChannel, generated: dict[str, Any]
) -> None:
    from tests.support.stack import make_settings

    await channel.declare_queue(request_queue("population"), durable=True)  # classic, no DLX
    settings = make_settings(rabbit.url, {"population": "http://127.0.0.1:9"}, generated)
    adapter = Registry.discover().adapter("population")
    assert adapter is not None
    with pytest.raises(TopologyError, match=r"lgsp\.requests\.population.*exists with arguments"):
        await asyncio.wait_for(Worker(adapter, settings).run(), timeout=15)
