"""Keeping a broker connection: what its failures look like, and reconnecting after them.

Every process that talks to RabbitMQ (the gateway's bus, each worker, the audit
writer, the operator tools) sees a lost, refused or closing broker connection
the same way: as one of `BROKER_ERRORS`, whichever library layer noticed it.

- At a boundary that answers somebody (an HTTP handler, a CLI command),
  `mapped_broker_errors()` turns them into `BrokerUnavailable`, raised `from`
  the original, the way httpx maps httpcore's errors at its transport.
- A long-running consumer hands `keep_connected()` a coroutine that serves one
  connection until it drops; it waits with capped exponential backoff and
  serves the next, until told to stop. Anything that is not a broker error
  (a `TopologyError`, a bug) ends the loop and reaches the caller.
- Which node to connect to is `BrokerAddresses`' one decision: the list of
  `bus.urls` shuffled once per process (N processes spread over the nodes),
  tried in turn from the node after the last one used, each attempt bounded
  by `connect_timeout`. A process whose node failed thus moves to another
  node on its next connection, within the same backoff as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections.abc import Awaitable, Callable, Iterator, Sequence

import aio_pika
import structlog
from aio_pika.abc import AbstractConnection
from aiormq.exceptions import ChannelInvalidStateError
from yarl import URL

from adapters import amqp
from adapters.errors import BrokerUnavailable
from schemas.config import BusSettings

# What a lost or closing broker connection raises, wherever it is noticed.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    aio_pika.exceptions.AMQPError,
    ChannelInvalidStateError,
    ConnectionError,
    OSError,
    TimeoutError,
)
FIRST_DELAY = 0.1  # seconds before the first reconnection attempt; doubles up to the cap
log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.connection")


def node_of(url: str) -> str:
    """`host:port` of a broker URL: how logs and views name a node (no credentials)."""
    address = URL(url)
    return f"{address.host}:{address.port}"


class BrokerAddresses:
    """The broker nodes one process may use, and which one to try next."""

    def __init__(
        self,
        urls: Sequence[str],
        *,
        connect_timeout: float,
        heartbeat: int | None = None,
        shuffle: bool = True,
    ) -> None:
        if not urls:
            raise ValueError("no broker address configured")
        self.urls = list(urls)
        if shuffle:
            random.shuffle(self.urls)
        self.connect_timeout = connect_timeout
        self.heartbeat = heartbeat
        self.current: str | None = None  # the node of the last connection, `host:port`
        self._next = 0

    @classmethod
    def from_settings(cls, settings: BusSettings) -> BrokerAddresses:
        return cls(
            settings.addresses(),
            connect_timeout=settings.connect_timeout,
            heartbeat=settings.heartbeat,
            shuffle=settings.node_order == "random",
        )

    def rotation(self) -> list[str]:
        """Every address once, starting after the node of the last connection."""
        return self.urls[self._next :] + self.urls[: self._next]

    async def connect(self, name: str) -> AbstractConnection:
        """A connection to the first node of `rotation()` that accepts one; when none
        does, the last node's error (one of `BROKER_ERRORS`)."""
        failure: BaseException = ConnectionError("no broker address")
        for url in self.rotation():
            try:
                connection = await amqp.connect(
                    url, connect_timeout=self.connect_timeout, name=name, heartbeat=self.heartbeat
                )
            except BROKER_ERRORS as exc:
                if len(self.urls) > 1:
                    log.info("bus.node_unreachable", node=node_of(url), error=type(exc).__name__)
                failure = exc
                continue
            self._next = (self.urls.index(url) + 1) % len(self.urls)
            self.current = node_of(url)
            return connection
        raise failure


@contextlib.contextmanager
def mapped_broker_errors(action: str) -> Iterator[None]:
    """Re-raise any broker error inside the block as `BrokerUnavailable` naming `action`."""
    try:
        yield
    except BROKER_ERRORS as exc:
        raise BrokerUnavailable(
            f"{action}: the broker is not reachable ({type(exc).__name__})"
        ) from exc


async def keep_connected(
    serve: Callable[[], Awaitable[None]],
    *,
    stop: asyncio.Event,
    max_delay: float,
    log: structlog.typing.FilteringBoundLogger,
    event: str = "bus.disconnected",
) -> None:
    """Call `serve()` again and again until `stop` is set, backing off after broker errors.

    `serve` returns when its connection ended in an orderly way and raises one of
    `BROKER_ERRORS` when it was lost; either way the next connection follows after
    the current delay, which doubles after each failure up to `max_delay`.
    """
    delay = FIRST_DELAY
    while not stop.is_set():
        try:
            await serve()
            delay = FIRST_DELAY
        except BROKER_ERRORS as exc:
            log.warning(event, error=type(exc).__name__, retry_in=delay)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, max_delay)
