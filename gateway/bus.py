"""The gateway's side of the bus: publish a request, await its correlated reply.

One connection per gateway process, supervised: while the broker is away every
request is answered 503 at once, and the supervisor reconnects with backoff and
re-declares everything, so service resumes within moments of the broker's
return without a restart. Replies arrive on a per-process, non-exclusive,
expiring queue (robust-connection bugs with exclusive queues are avoided, and a
reply published during a short outage still waits for us).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import structlog
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
)
from aio_pika.exceptions import DeliveryError, PublishError
from aiormq import spec
from aiormq.abc import DeliveredMessage
from aiormq.exceptions import ChannelNotFoundEntity

from adapters import amqp
from adapters.connection import BROKER_ERRORS, BrokerAddresses, keep_connected
from adapters.errors import TopologyError
from adapters.topology import declare_topology
from gateway.ids import new_id
from gateway.problems import ProblemError, outcome_unknown, unavailable
from schemas.config import BusSettings
from schemas.envelope import (
    AUDIT_EXCHANGE,
    REPLY_QUEUE_PREFIX,
    REQUESTS_EXCHANGE,
    Reply,
    request_queue,
)
from schemas.problems import ProblemType

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.bus")
DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"


def _fail_reply(reply: asyncio.Future[ReplyMessage], publish: asyncio.Future[None]) -> None:
    """A publish that failed fails the request waiting for its reply."""
    if publish.cancelled():
        return
    error = publish.exception()
    if error is not None and not reply.done():
        reply.set_exception(error)


def reply_queue_name() -> str:
    """A reply queue of this process's own (host, pid, and a random part)."""
    return f"{REPLY_QUEUE_PREFIX}{socket.gethostname()}.{os.getpid()}.{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class ReplyMessage:
    status: int
    content_type: str
    body: bytes


class Bus:
    def __init__(self, settings: BusSettings, adapters: list[str], retry_after: int = 2) -> None:
        self.settings = settings
        self.adapters = adapters
        self.retry_after = retry_after
        self.reply_queue = reply_queue_name()
        self.reply_to = self.reply_queue
        self.consumers: dict[str, int] = {}
        self.connected = asyncio.Event()
        self._pending: dict[str, asyncio.Future[ReplyMessage]] = {}
        self._channel: AbstractChannel | None = None  # confirming; requests and audit events
        self._connection: AbstractConnection | None = None
        self._supervisor: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self.fatal: BaseException | None = None
        self.addresses = BrokerAddresses.from_settings(settings)
        self._renewing: asyncio.Future[None] | None = None
        self._reply_channel: AbstractChannel | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        self._supervisor = asyncio.create_task(self._supervise(), name="bus-supervisor")

    async def lifecycle(self, _app: object) -> AsyncIterator[None]:
        """For aiohttp's `cleanup_ctx`: connect at start, close at the end."""
        await self.start()
        yield
        await self.stop()

    async def stop(self) -> None:
        self._stopping.set()
        if self._supervisor:
            self._supervisor.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._supervisor
        if self._connection and not self._connection.is_closed:
            with contextlib.suppress(*BROKER_ERRORS):
                await self._connection.close()

    async def _supervise(self) -> None:
        try:
            await keep_connected(
                self._serve_one_connection,
                stop=self._stopping,
                max_delay=self.settings.reconnect_max_delay,
                log=log,
            )
        except TopologyError as exc:
            # Not a passing fault: say so loudly and stay unready.
            self.fatal = exc
            log.error("bus.topology_conflict", error=str(exc))

    async def _serve_one_connection(self) -> None:
        connection = await self.addresses.connect(f"lgsp-gateway-{os.getpid()}")
        closed = asyncio.Event()
        connection.close_callbacks.add(lambda *_: closed.set())
        self._connection = connection
        try:
            async with asyncio.timeout(self.settings.setup_timeout):
                check_channel = await self._set_up(connection)
            self.connected.set()
            log.info("bus.connected", reply_queue=self.reply_queue, node=self.addresses.current)
            checker = asyncio.create_task(self._watch_consumers(check_channel, closed))
            try:
                await closed.wait()
            finally:
                checker.cancel()
                with contextlib.suppress(asyncio.CancelledError, *BROKER_ERRORS):
                    await checker
            raise ConnectionError("broker connection lost")
        finally:
            self.connected.clear()
            self._channel = None
            self.consumers = {}
            if not connection.is_closed:
                with contextlib.suppress(*BROKER_ERRORS):
                    await connection.close()

    async def _set_up(self, connection: AbstractConnection) -> AbstractChannel:
        """Declare, start consuming replies; return the channel for consumer checks."""
        # Returns raise: an unroutable mandatory publish is a 503, not a silent loss.
        channel = await connection.channel(publisher_confirms=True, on_return_raises=True)
        await declare_topology(channel, self.adapters, self.settings)
        self._channel = self._reply_channel = channel
        if self.settings.reply_path == "direct":
            # Direct reply-to: consumed, with no ack, on the channel that publishes.
            replies = await channel.get_queue(DIRECT_REPLY_TO, ensure=False)
            self.reply_to = DIRECT_REPLY_TO
        else:
            try:
                replies = await channel.declare_queue(
                    self.reply_queue,
                    durable=False,
                    exclusive=False,
                    arguments={"x-expires": self.settings.reply_queue_expires_ms},
                )
            except ChannelNotFoundEntity as exc:
                # In a cluster, the queue lived on a node that has stopped, and its record
                # outlives the node for seconds (NOT_FOUND, "home node is down"): the next
                # connection declares a queue of a new name instead of waiting for it.
                log.warning("bus.reply_queue_lost", queue=self.reply_queue, error=str(exc))
                self.reply_queue = reply_queue_name()
                raise
            self.reply_to = self.reply_queue
        # Consumed on aiormq's channel: aio-pika would wrap each reply in an IncomingMessage
        # and a second task, for a message we only read once (no ack: the queue is ours alone).
        underlay = await channel.get_underlay_channel()
        await underlay.basic_consume(replies.name, self._on_reply, no_ack=True)
        check_channel = await connection.channel(publisher_confirms=False)
        await self._check_consumers(check_channel)
        return check_channel

    def _channel_refused(self, channel: AbstractChannel) -> None:
        """After a nack, later requests get a fresh confirming channel.

        RabbitMQ 3.10 keeps nacking every publish of a channel whose first publish to a
        quorum queue came while that queue's leader was gone (a node killed; measured on
        the test cluster, tests/cluster): such a channel never recovers, a new one at once
        does. Renewing costs one channel.open per nack burst. The set-up channel stays open
        (it consumes the replies); with direct reply-to, replies must come on the publishing
        channel, so there it is kept."""
        if self.settings.reply_path == "direct" or self._channel is not channel:
            return
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.ensure_future(self._renew_channel(channel))

    async def _renew_channel(self, refused: AbstractChannel) -> None:
        connection = self._connection
        if connection is None or connection.is_closed:
            return
        with contextlib.suppress(*BROKER_ERRORS):
            async with asyncio.timeout(self.settings.publish_timeout):
                fresh = await connection.channel(publisher_confirms=True, on_return_raises=True)
            if self._channel is refused and self._connection is connection:
                self._channel = fresh
                log.info("bus.channel_renewed")
            else:
                await fresh.close()
                return
            if refused is not self._reply_channel:
                await refused.close()

    async def _watch_consumers(self, channel: AbstractChannel, closed: asyncio.Event) -> None:
        while not closed.is_set():
            await asyncio.sleep(self.settings.consumer_check_interval)
            await self._check_consumers(channel)

    async def _check_consumers(self, channel: AbstractChannel) -> None:
        counts: dict[str, int] = {}
        for adapter in self.adapters:
            queue = await channel.declare_queue(request_queue(adapter), passive=True)
            result = queue.declaration_result
            counts[adapter] = result.consumer_count or 0
        self.consumers = counts

    async def refresh_consumers(self) -> None:
        """Check consumer counts now (tests and readiness use it instead of waiting a period)."""
        if self._connection is None or self._connection.is_closed:
            return
        channel = await self._connection.channel(publisher_confirms=False)
        try:
            await self._check_consumers(channel)
        finally:
            await channel.close()

    async def _on_reply(self, message: DeliveredMessage) -> None:
        props = message.header.properties
        future = self._pending.get(props.correlation_id or "")
        if future is None or future.done():
            return  # a late or duplicate reply: its caller already has an answer
        status = (props.headers or {}).get(Reply.STATUS)
        future.set_result(
            ReplyMessage(
                status if isinstance(status, int) else 502,
                props.content_type or "application/json",
                message.body,
            )
        )

    # -- requests ----------------------------------------------------------------------------

    @property
    def in_flight(self) -> int:
        """Requests published and still awaiting their reply (a metric)."""
        return len(self._pending)

    def ready(self) -> tuple[bool, str]:
        if self.fatal is not None:
            return False, "bus topology conflict"
        if not self.connected.is_set():
            return False, "broker not connected"
        idle = [a for a in self.adapters if self.consumers.get(a, 0) == 0]
        if idle:
            return False, "no consumers on " + ", ".join(request_queue(a) for a in idle)
        return True, "ok"

    async def request(
        self,
        adapter: str,
        operation: str,
        body: bytes,
        *,
        request_id: str,
        deadline: float,
        headers: Mapping[str, Any],
    ) -> ReplyMessage:
        """Publish and wait for the reply until `deadline` (epoch seconds)."""
        channel = self._channel
        if channel is None or not self.connected.is_set():
            raise unavailable("the message bus is not reachable", self.retry_after)
        if self.consumers.get(adapter, 0) == 0:
            raise unavailable(
                f"no worker is consuming {request_queue(adapter)}",
                self.retry_after,
                source="adapter",
            )
        correlation_id = new_id()
        future: asyncio.Future[ReplyMessage] = asyncio.get_running_loop().create_future()
        self._pending[correlation_id] = future
        try:
            remaining = deadline - time.time()
            props = amqp.properties(
                content_type="application/json",
                correlation_id=correlation_id,
                message_id=request_id,
                reply_to=self.reply_to,
                message_type=f"{adapter}/{operation}",
                # Expiration: what is left of the deadline, so nobody works on abandoned requests.
                expiration=max(remaining, 0.001),
                headers=dict(headers),
                persistent=True,
            )
            # The confirm is awaited alongside the reply, not before it: the broker's fsync
            # overlaps the worker's work. A nack, a return or no confirm in time still ends
            # the request (503) through the reply future.
            publish = asyncio.ensure_future(
                self._publish(
                    channel,
                    body,
                    props,
                    adapter,
                    min(remaining, self.settings.publish_timeout),
                    exchange=REQUESTS_EXCHANGE,
                    routing_key=adapter,
                )
            )
            publish.add_done_callback(functools.partial(_fail_reply, future))
            try:
                async with asyncio.timeout(max(deadline - time.time(), 0)):
                    return await future
            except TimeoutError:
                raise ProblemError(
                    504,
                    ProblemType.DEADLINE,
                    "Deadline exceeded",
                    "no answer from the adapter before the deadline",
                    source="bus",
                ) from None
        finally:
            self._pending.pop(correlation_id, None)

    async def _publish(
        self,
        channel: AbstractChannel,
        body: bytes,
        props: spec.Basic.Properties,
        adapter: str,
        wait: float,
        *,
        exchange: str,
        routing_key: str,
    ) -> None:
        # Two kinds of 503 (README, "The HTTP contract"): `unavailable` when the broker never
        # got the message (not connected, returned, nacked), `outcome-unknown` when it may
        # hold it: written, but neither confirmed in time nor refused (a paused or blocked
        # broker reads it later; a killed one may have stored it before dying).
        if channel.is_closed:
            raise unavailable("the message bus is not reachable", self.retry_after)
        try:
            async with asyncio.timeout(wait):
                await amqp.publish(
                    channel, body, exchange=exchange, routing_key=routing_key, props=props
                )
        except PublishError:  # returned by the broker: nothing is bound for this adapter
            raise ProblemError(
                503,
                ProblemType.NO_ROUTE,
                "No route to the adapter",
                f"nothing is bound for {adapter!r} on {REQUESTS_EXCHANGE}",
                source="bus",
                headers={"Retry-After": str(self.retry_after)},
            ) from None
        except DeliveryError:  # nacked: the queue is full (reject-publish) or the broker refused
            self._channel_refused(channel)
            raise unavailable("the broker refused the message", self.retry_after) from None
        except TimeoutError:
            raise outcome_unknown(
                "the broker did not confirm the message in time", self.retry_after
            ) from None
        except BROKER_ERRORS:
            raise outcome_unknown(
                "the broker connection failed after the message was sent", self.retry_after
            ) from None

    # -- audit events ------------------------------------------------------------------------

    async def publish_audit(self, body: bytes, *, message_id: str, wait: float) -> None:
        """Publish one audit event to `lgsp.audit`, confirmed within `wait` seconds (else 503)."""
        channel = self._channel
        if channel is None or not self.connected.is_set():
            raise unavailable("the message bus is not reachable", self.retry_after)
        props = amqp.properties(
            content_type="application/json",
            message_id=message_id,
            message_type="audit-event",
            persistent=True,
        )
        await self._publish(
            channel, body, props, AUDIT_EXCHANGE, wait, exchange=AUDIT_EXCHANGE, routing_key=""
        )
