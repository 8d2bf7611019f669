"""Group commit of audit events: one publish at a time, the rest gather behind it."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from gateway.audit.batch import AuditBatcher


class Broker:
    """Records published bodies; each publish waits until the test lets it confirm."""

    def __init__(self) -> None:
        self.bodies: list[bytes] = []
        self.confirm = asyncio.Event()
        self.fail: Exception | None = None

    async def publish(self, body: bytes, _message_id: str) -> None:
        self.bodies.append(body)
        await self.confirm.wait()
        if self.fail is not None:
            raise self.fail


async def test_a_lone_event_is_published_at_once() -> None:
    broker = Broker()
    broker.confirm.set()
    await AuditBatcher(broker.publish).submit(b'{"n": 1}', wait=1)
    assert [orjson.loads(b) for b in broker.bodies] == [[{"n": 1}]]


async def test_events_arriving_during_a_confirm_go_out_together() -> None:
    broker = Broker()
    batcher = AuditBatcher(broker.publish)
    first = asyncio.create_task(batcher.submit(b'{"n": 0}', wait=5))
    await asyncio.sleep(0)  # the first publish is now waiting for its confirm
    rest = [asyncio.create_task(batcher.submit(b'{"n": %d}' % i, wait=5)) for i in range(1, 6)]
    await asyncio.sleep(0)
    broker.confirm.set()
    await asyncio.gather(first, *rest)
    assert [len(orjson.loads(b)) for b in broker.bodies] == [1, 5]


async def test_a_failed_publish_fails_every_event_of_its_batch() -> None:
    broker = Broker()
    broker.fail = ConnectionError("broker gone")
    broker.confirm.set()
    batcher = AuditBatcher(broker.publish)
    results = await asyncio.gather(
        *(batcher.submit(b"{}", wait=1) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, ConnectionError) for r in results)


async def test_a_confirm_that_never_comes_is_a_timeout() -> None:
    broker = Broker()
    with pytest.raises(TimeoutError):
        await AuditBatcher(broker.publish).submit(b"{}", wait=0.05)
