"""`bus.urls`: a process connects to a node that answers and, next time, tries the next one."""

from __future__ import annotations

import time

import pytest

from adapters.connection import BrokerAddresses, node_of
from tests.support.rabbit import Rabbit
from tests.support.waiting import free_port

pytestmark = pytest.mark.integration


async def test_an_unreachable_node_is_skipped_and_the_next_connection_starts_after_the_last(
    rabbit: Rabbit,
) -> None:
    dead = f"amqp://lgsp:x@127.0.0.1:{free_port()}/"
    addresses = BrokerAddresses([dead, rabbit.url], connect_timeout=2.0, shuffle=False)
    started = time.monotonic()
    connection = await addresses.connect("lgsp-test-addresses")
    try:
        assert addresses.current == node_of(rabbit.url)
        assert time.monotonic() - started < 2.0  # a refused node costs no timeout
    finally:
        await connection.close()
    # After the live node, the next connection starts with the node after it.
    assert addresses.rotation() == [dead, rabbit.url]


async def test_when_no_node_answers_the_last_error_is_raised_within_one_round() -> None:
    urls = [f"amqp://lgsp:x@127.0.0.1:{free_port()}/" for _ in range(3)]
    addresses = BrokerAddresses(urls, connect_timeout=1.0)
    started = time.monotonic()
    with pytest.raises(ConnectionError):
        await addresses.connect("lgsp-test-nobody")
    assert time.monotonic() - started < 3 * 1.0
    assert addresses.current is None
