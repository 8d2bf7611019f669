"""The coalescing AMQP transport and publish on a real broker: fewer system calls, same order,
and the broker's answers (confirm, nack, return) still reach the publisher."""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

import aio_pika
import pytest
from yarl import URL

from adapters import amqp
from tests.support.rabbit import Rabbit

MESSAGES = 60
BURST = 8


class CountingFactory(amqp.CoalescingTransportFactory):
    """Records the transports it makes and counts the writes that reach the socket."""

    made: ClassVar[list[amqp.CoalescingTransport]] = []
    socket_writes = 0

    async def create(
        self, url: URL, **kwargs: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        reader, writer = await super().create(url, **kwargs)
        transport = writer.transport
        assert isinstance(transport, amqp.CoalescingTransport)
        inner = transport._inner
        real_write = inner.write

        def counted(data: Any) -> None:
            CountingFactory.socket_writes += 1
            real_write(data)

        inner.write = counted  # type: ignore[method-assign]
        CountingFactory.made.append(transport)
        return reader, writer


class CountingConnection(amqp.CoalescingConnection):
    transport_factory = CountingFactory


async def test_a_burst_of_publishes_leaves_in_few_writes_and_arrives_in_order(
    rabbit: Rabbit,
) -> None:
    CountingFactory.made.clear()
    connection = await aio_pika.connect(rabbit.url, connection_class=CountingConnection)
    try:
        assert len(CountingFactory.made) == 1
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue("coalesce", auto_delete=True)
        props = amqp.properties(content_type="text/plain", persistent=False)

        async def burst(first: int, count: int) -> int:
            CountingFactory.socket_writes = 0
            await asyncio.gather(
                *(
                    amqp.publish(
                        channel, f"m{i}".encode(), exchange="", routing_key=queue.name, props=props
                    )
                    for i in range(first, first + count)
                )
            )
            return CountingFactory.socket_writes

        # Fewer publishes than aiormq's frame queue holds (10): one write for all of them.
        assert await burst(0, BURST) == 1
        # More: the queue fills and the publishers take turns, but nothing is lost or reordered.
        assert await burst(BURST, MESSAGES - BURST) > 0

        received: list[bytes] = []
        async with queue.iterator() as messages:
            async for message in messages:
                received.append(message.body)
                await message.ack()
                if len(received) == MESSAGES:
                    break
        assert received == [f"m{i}".encode() for i in range(MESSAGES)]
        assert CountingFactory.made[0].pending_bytes == 0
    finally:
        await asyncio.wait_for(connection.close(), 5)
    # Connection.Close went out and the broker answered it: a clean close, not a timeout.
    assert connection.is_closed


async def test_connect_works_end_to_end_and_no_broker_is_a_connection_error(
    rabbit: Rabbit,
) -> None:
    connection = await amqp.connect(rabbit.url, connect_timeout=5, name="lgsp-test-coalescing")
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(exclusive=True)
        await channel.default_exchange.publish(aio_pika.Message(b"x"), routing_key=queue.name)
        message = await queue.get(timeout=5, fail=True)
        assert message is not None
        assert message.body == b"x"
        await message.ack()
    finally:
        await connection.close()

    closed_port = URL(rabbit.url).with_port(9)
    with pytest.raises(aio_pika.exceptions.AMQPConnectionError):
        await amqp.connect(str(closed_port), connect_timeout=5, name="nobody")


async def test_publish_still_raises_on_a_return_and_on_a_nack(rabbit: Rabbit) -> None:
    connection = await amqp.connect(rabbit.url, connect_timeout=5, name="lgsp-test-answers")
    try:
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        props = amqp.properties(content_type="text/plain", persistent=True)
        with pytest.raises(aio_pika.exceptions.PublishError):
            await amqp.publish(channel, b"x", exchange="", routing_key="nobody-here", props=props)
        full = await channel.declare_queue(
            "full",
            auto_delete=True,
            arguments={"x-max-length": 1, "x-overflow": "reject-publish"},
        )
        await amqp.publish(channel, b"1", exchange="", routing_key=full.name, props=props)
        with pytest.raises(aio_pika.exceptions.DeliveryError):
            await amqp.publish(channel, b"2", exchange="", routing_key=full.name, props=props)
    finally:
        await connection.close()
