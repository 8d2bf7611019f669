"""What the gateway processes of one deployment tell each other, a few times a second.

State that must hold across gateways (a client's rate, the service statistics,
the counts the dashboard shows) lives in each process; RabbitMQ stays the only
infrastructure they share. So every gateway process publishes a small report
every `interval` seconds on the fanout exchange `lgsp.gossip`, and reads its
peers' reports from a queue of its own (server-named, exclusive, auto-delete:
it goes with its connection; messages older than a few intervals expire, as
stale figures are worse than none).

A report is one JSON object: who sent it (`process`, `node`: the broker node
it is connected to, `sent`), and one entry per topic that a part of the
gateway `contribute`s (a snapshot function, called once per report). Parts
that need their peers' figures `subscribe` to a topic and are handed each
peer's entry as it arrives. A peer silent for `PEER_TIMEOUT` intervals is
dropped from `peers`. Reports are not confirmed nor persisted: one lost is
replaced by the next.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import time
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import aio_pika
import orjson
import structlog
from aiohttp import web
from aiormq.abc import DeliveredMessage

from adapters import amqp
from adapters.connection import BROKER_ERRORS, BrokerAddresses, keep_connected
from schemas.config import BusSettings

GOSSIP_EXCHANGE = "lgsp.gossip"
PEER_TIMEOUT = 10  # intervals without a report before a peer is forgotten
log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.gossip")

Snapshot = Callable[[], Any]
Fold = Callable[[str, Any], None]


def process_name(role: str = "gateway") -> str:
    """How a process is named in reports and views: role, host and pid."""
    return f"{role}@{socket.gethostname()}:{os.getpid()}"


class Gossip:
    def __init__(self, settings: BusSettings, interval: float, name: str | None = None) -> None:
        self.settings = settings
        self.interval = interval
        self.name = name or process_name()
        self.addresses = BrokerAddresses.from_settings(settings)
        self.connected = asyncio.Event()
        self.peers: dict[str, dict[str, Any]] = {}  # name -> its last report
        self._seen: dict[str, float] = {}
        self._sources: dict[str, Snapshot] = {}
        self._sinks: dict[str, list[Fold]] = {}
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def contribute(self, topic: str, snapshot: Snapshot) -> None:
        self._sources[topic] = snapshot

    def subscribe(self, topic: str, fold: Fold) -> None:
        self._sinks.setdefault(topic, []).append(fold)

    def live_peers(self) -> dict[str, dict[str, Any]]:
        """The peers heard from lately, by name (this process not among them)."""
        horizon = time.monotonic() - PEER_TIMEOUT * self.interval
        for name in [n for n, seen in self._seen.items() if seen < horizon]:
            self._seen.pop(name, None)
            self.peers.pop(name, None)
        return dict(self.peers)

    def report(self, topics: Iterable[str] | None = None) -> dict[str, Any]:
        """This process's report now, of every topic or of those named (a snapshot may
        consume what it reports, like the rate-limit usage: views name their topics)."""
        wanted = self._sources if topics is None else {t: self._sources[t] for t in topics}
        return {
            "process": self.name,
            "node": self.addresses.current,
            "sent": time.time(),
            "topics": {topic: snapshot() for topic, snapshot in wanted.items()},
        }

    # -- lifecycle ---------------------------------------------------------------------------

    async def lifecycle(self, _app: object) -> AsyncIterator[None]:
        """For aiohttp's `cleanup_ctx`."""
        self._task = asyncio.create_task(
            keep_connected(
                self._serve_one_connection,
                stop=self._stop,
                max_delay=self.settings.reconnect_max_delay,
                log=log,
                event="gossip.disconnected",
            )
        )
        yield
        self._stop.set()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task

    async def _serve_one_connection(self) -> None:
        connection = await self.addresses.connect(f"lgsp-gossip-{os.getpid()}")
        try:
            async with asyncio.timeout(self.settings.setup_timeout):
                channel = await connection.channel(publisher_confirms=False)
                exchange = await channel.declare_exchange(
                    GOSSIP_EXCHANGE, aio_pika.ExchangeType.FANOUT, durable=True
                )
                queue = await channel.declare_queue(
                    exclusive=True,
                    auto_delete=True,
                    arguments={"x-message-ttl": int(self.interval * 3000)},
                )
                await queue.bind(exchange)
                underlay = await channel.get_underlay_channel()
                await underlay.basic_consume(queue.name, self._on_report, no_ack=True)
            self.connected.set()
            while not connection.is_closed:
                body = orjson.dumps(self.report())
                props = amqp.properties(content_type="application/json", persistent=False)
                await amqp.publish(
                    channel,
                    body,
                    exchange=GOSSIP_EXCHANGE,
                    routing_key="",
                    props=props,
                    mandatory=False,
                )
                await asyncio.sleep(self.interval)
            raise ConnectionError("gossip connection lost")
        finally:
            self.connected.clear()
            if not connection.is_closed:
                with contextlib.suppress(*BROKER_ERRORS):
                    await connection.close()

    async def _on_report(self, message: DeliveredMessage) -> None:
        try:
            report = orjson.loads(message.body)
            name = str(report["process"])
            topics = dict(report["topics"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            log.warning("gossip.malformed_report")
            return
        if name == self.name:
            return
        self.peers[name] = report
        self._seen[name] = time.monotonic()
        for topic, entry in topics.items():
            for fold in self._sinks.get(topic, []):
                fold(name, entry)


GOSSIP = web.AppKey("gossip", Gossip)
