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
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterator

import aio_pika
import structlog
from aiormq.exceptions import ChannelInvalidStateError

from adapters.errors import BrokerUnavailable

# What a lost or closing broker connection raises, wherever it is noticed.
BROKER_ERRORS: tuple[type[BaseException], ...] = (
    aio_pika.exceptions.AMQPError,
    ChannelInvalidStateError,
    ConnectionError,
    OSError,
    TimeoutError,
)
FIRST_DELAY = 0.1  # seconds before the first reconnection attempt; doubles up to the cap


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
