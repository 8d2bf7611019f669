"""One way to see a lost broker and one way to reconnect, for every process that talks to it."""

from __future__ import annotations

import asyncio
import itertools

import aio_pika
import pytest
import structlog
from structlog.testing import capture_logs

from adapters.connection import BROKER_ERRORS, keep_connected, mapped_broker_errors
from adapters.errors import BrokerUnavailable, LgspError, TopologyError


@pytest.mark.parametrize(
    "error",
    [
        ConnectionRefusedError(111, "refused"),
        aio_pika.exceptions.AMQPConnectionError("gone"),
        TimeoutError(),
    ],
)
def test_broker_errors_are_mapped_to_one_exception_from_the_original(error: Exception) -> None:
    mapping = mapped_broker_errors("list queues")
    with pytest.raises(BrokerUnavailable, match="list queues") as caught, mapping:
        raise error
    assert caught.value.__cause__ is error
    assert isinstance(caught.value, LgspError)


def test_other_errors_pass_the_mapping_untouched() -> None:
    with pytest.raises(KeyError), mapped_broker_errors("anything"):
        raise KeyError("not the broker's")


async def test_keep_connected_backs_off_after_failures_and_stops_when_told() -> None:
    stop = asyncio.Event()
    calls: list[float] = []
    loop = asyncio.get_running_loop()

    async def serve() -> None:
        calls.append(loop.time())
        if len(calls) == 4:
            stop.set()
            return
        raise ConnectionResetError("lost")

    with capture_logs() as logs:
        async with asyncio.timeout(5):
            await keep_connected(serve, stop=stop, max_delay=0.4, log=structlog.get_logger())
    assert len(calls) == 4
    gaps = [b - a for a, b in itertools.pairwise(calls)]
    assert gaps[0] >= 0.09
    assert gaps[1] >= 0.19  # doubled
    assert gaps[2] >= 0.39  # doubled again, at the cap
    assert [entry["retry_in"] for entry in logs] == [0.1, 0.2, 0.4]
    assert all(entry["event"] == "bus.disconnected" for entry in logs)


async def test_keep_connected_lets_a_topology_conflict_through() -> None:
    async def serve() -> None:
        raise TopologyError("queue exists with other arguments")

    with pytest.raises(TopologyError):
        await keep_connected(serve, stop=asyncio.Event(), max_delay=1.0, log=structlog.get_logger())


def test_the_one_tuple_covers_what_a_lost_connection_raises() -> None:
    for error in (ConnectionError, OSError, TimeoutError, aio_pika.exceptions.AMQPError):
        assert issubclass(error, BROKER_ERRORS)
