"""Connecting to RabbitMQ with one socket write per burst of frames.

aiormq's writer task sends each queued frame (a publish, an ack, a
confirm-select...) with its own `transport.write`, and on a connection that is
idle enough for the kernel buffer to be empty every write is its own `send()`
system call: on loopback that call also runs the receiver's side of TCP and
wakes the broker. The writer drains its queue in bursts (one task step takes
every frame already queued), so holding the bytes until the end of the current
event-loop step and writing them together turns a burst of N frames into one
system call, with no added wait: the flush is the next callback the loop runs.

Frame order is kept (one buffer, appended in order) and closing flushes first.
When the broker stops reading, what bounds the bytes held is aiormq's frame
queue (ten frames; a publisher waits when it is full), the real transport's
flow control for the frames aiormq still drains (RPCs, heartbeats), and every
publish's timeout in our callers: at most the publishes in flight, each of
which ends in a 503 or a redelivery when its confirm does not come.

`connect` is `aio_pika.connect` with this transport; every process of ours
opens its broker connections through it.

`publish` is the hot path's publish. aio-pika's `Exchange.publish` makes
each publish wait, under the channel's lock, until aiormq's writer has written
it, so the publishes of one channel leave one loop step apart and never share
a write. `publish` queues the frames (the queue is bounded: a full one still
makes the caller wait) and then waits for the broker's confirm as before: a
nack still raises `DeliveryError`, a returned mandatory message `PublishError`
on a channel opened with `on_return_raises`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aio_pika
import aiormq
from aio_pika.abc import AbstractChannel, AbstractConnection
from aiormq import spec
from aiormq.abc import DeliveredMessage
from aiormq.connection import TransportFactory
from aiormq.exceptions import AMQPConnectionError
from yarl import URL

READ_LIMIT = 2**16  # asyncio's default StreamReader limit, as aiormq gets it


class CoalescingTransport(asyncio.Transport):
    """A write transport that gathers the writes of one loop step into one `write`."""

    def __init__(self, inner: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._inner = inner
        self._loop = loop
        self._pending: list[bytes] = []
        self._size = 0
        self._flush_scheduled = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        if not data:
            return
        self._pending.append(bytes(data))
        self._size += len(data)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            self._loop.call_soon(self.flush)

    def writelines(self, list_of_data: Any) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Hand everything gathered to the real transport now (order kept)."""
        self._flush_scheduled = False
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._size = 0
        if not self._inner.is_closing():
            self._inner.write(data)

    @property
    def pending_bytes(self) -> int:
        return self._size

    def get_write_buffer_size(self) -> int:
        return self._size + self._inner.get_write_buffer_size()

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._inner.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._inner.set_write_buffer_limits(high, low)

    def can_write_eof(self) -> bool:
        return self._inner.can_write_eof()

    def write_eof(self) -> None:
        self.flush()
        self._inner.write_eof()

    def close(self) -> None:
        self.flush()  # a closing transport still sends what it holds, Connection.Close included
        self._inner.close()

    def abort(self) -> None:
        self._pending.clear()
        self._size = 0
        self._inner.abort()

    def is_closing(self) -> bool:
        return self._inner.is_closing()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._inner.get_extra_info(name, default)

    def is_reading(self) -> bool:
        return self._inner.is_reading()

    def pause_reading(self) -> None:
        self._inner.pause_reading()

    def resume_reading(self) -> None:
        self._inner.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._inner.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._inner.get_protocol()


class CoalescingTransportFactory(TransportFactory):
    """aiormq's transport factory (TCP or TLS by the URL's scheme), with coalesced writes."""

    async def create(
        self, url: URL, **kwargs: Any
    ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        provider = kwargs.pop("ssl_context_provider", None)
        ssl = await provider.get_context() if url.scheme == "amqps" and provider else None
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=READ_LIMIT, loop=loop)
        protocol = asyncio.StreamReaderProtocol(reader, loop=loop)
        try:
            transport, _ = await loop.create_connection(
                lambda: protocol,
                host=url.host or "localhost",
                port=url.port or 5672,
                ssl=ssl,
                **kwargs,
            )
        except OSError as exc:
            raise AMQPConnectionError(*exc.args) from exc
        return reader, asyncio.StreamWriter(
            CoalescingTransport(transport, loop), protocol, reader, loop
        )


class CoalescingConnection(aio_pika.Connection):
    """aio-pika's connection on the coalescing transport (aiormq takes `transport_factory`)."""

    transport_factory: type[TransportFactory] = CoalescingTransportFactory

    def __init__(self, url: URL, **kwargs: Any) -> None:
        super().__init__(url, **kwargs)
        self.kwargs["transport_factory"] = self.transport_factory()


async def connect(
    url: str, *, connect_timeout: float, name: str, heartbeat: int | None = None
) -> AbstractConnection:
    """Open a broker connection, named for the management UI, with coalesced writes.

    `heartbeat` (seconds) applies unless the URL names its own: a peer that stops
    answering without closing (a frozen node) is noticed after about three of them."""
    address = URL(url)
    if heartbeat is not None and "heartbeat" not in address.query:
        address = address.update_query(heartbeat=heartbeat)
    return await aio_pika.connect(
        address,
        timeout=connect_timeout,
        client_properties={"connection_name": name},
        connection_class=CoalescingConnection,
    )


def properties(
    *,
    content_type: str,
    message_id: str | None = None,
    correlation_id: str | None = None,
    reply_to: str | None = None,
    message_type: str | None = None,
    expiration: float | None = None,
    headers: dict[str, Any] | None = None,
    persistent: bool,
) -> spec.Basic.Properties:
    """AMQP message properties; `expiration` in seconds, as aio-pika's `Message` takes it."""
    return spec.Basic.Properties(
        content_type=content_type,
        message_id=message_id,
        correlation_id=correlation_id,
        reply_to=reply_to,
        message_type=message_type,
        expiration=None if expiration is None else str(int(expiration * 1000)),
        headers=headers,
        delivery_mode=2 if persistent else 1,
    )


async def publish(
    channel: AbstractChannel,
    body: bytes,
    *,
    exchange: str,
    routing_key: str,
    props: spec.Basic.Properties,
    mandatory: bool = True,
) -> None:
    """Publish on a confirming channel and wait for the confirm (see the module's notes)."""
    underlay = await _aiormq_channel(channel)
    await underlay.basic_publish(
        body,
        exchange=exchange,
        routing_key=routing_key,
        properties=props,
        mandatory=mandatory,
        wait=False,
    )


class Delivery:
    """A message delivered to a consumer registered on aiormq's channel (see `consume`).

    aio-pika would wrap each delivery in an `IncomingMessage` and run the callback in a
    second task; the worker reads a handful of properties and acks once, so this thin
    view is all it needs. `ack` queues the frame without waiting for the socket write
    (aiormq's default waits a loop step for it); the broker sees frames in order.
    """

    __slots__ = (
        "_channel",
        "body",
        "content_type",
        "correlation_id",
        "delivery_tag",
        "headers",
        "message_id",
        "redelivered",
        "reply_to",
        "type",
    )

    def __init__(self, channel: aiormq.Channel, message: DeliveredMessage) -> None:
        deliver = message.delivery
        if not isinstance(deliver, spec.Basic.Deliver):
            raise TypeError(f"not a consumer delivery: {deliver!r}")
        props = message.header.properties
        self._channel = channel
        self.body: bytes = message.body
        self.headers: dict[str, Any] = props.headers or {}
        self.message_id: str | None = props.message_id
        self.correlation_id: str | None = props.correlation_id
        self.reply_to: str | None = props.reply_to
        self.type: str | None = props.message_type
        self.content_type: str | None = props.content_type
        self.redelivered = bool(deliver.redelivered)
        self.delivery_tag = int(deliver.delivery_tag or 0)

    async def ack(self) -> None:
        await self._channel.basic_ack(self.delivery_tag, wait=False)


async def consume(
    channel: AbstractChannel, queue: str, callback: Callable[[Delivery], Awaitable[None]]
) -> str:
    """Consume `queue` (acks required) with `callback` run in aiormq's task per delivery;
    return the consumer tag. Cancel with `cancel`."""
    underlay = await _aiormq_channel(channel)

    async def deliver(message: DeliveredMessage) -> None:
        await callback(Delivery(underlay, message))

    ok = await underlay.basic_consume(queue, deliver)
    return str(ok.consumer_tag)


async def cancel(channel: AbstractChannel, consumer_tag: str) -> None:
    underlay = await _aiormq_channel(channel)
    await underlay.basic_cancel(consumer_tag)


async def _aiormq_channel(channel: AbstractChannel) -> aiormq.Channel:
    underlay = await channel.get_underlay_channel()
    if not isinstance(underlay, aiormq.Channel):  # `wait` is aiormq's Channel's, not its ABC's
        raise TypeError(f"not an aiormq channel: {underlay!r}")
    return underlay
