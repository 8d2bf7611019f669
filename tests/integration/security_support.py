"""Helpers of the security tests: a tap on the request exchange, clients, an audit writer."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from gateway.audit.store import AuditStore
from gateway.audit.writer import AuditWriter
from schemas.config import Settings
from schemas.envelope import REQUESTS_EXCHANGE
from tests.support.rabbit import Rabbit
from tests.support.stack import TEST_CLIENT

EVERYTHING = {"allow": ["*/*#*"], "rate_limit": {"rate": 1e4, "burst": 10000}}


def clients(**extra: dict[str, Any]) -> dict[str, Any]:
    """An `auth` override: the stack's own test client plus the given ones."""
    return {"clients": {TEST_CLIENT: EVERYTHING, **extra}}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


class Tap:
    """A queue bound beside the adapter's: it keeps a copy of every request published."""

    def __init__(self, channel: AbstractChannel, name: str) -> None:
        self.channel = channel
        self.name = name

    async def count(self) -> int:
        queue = await self.channel.declare_queue(self.name, passive=True)
        return queue.declaration_result.message_count or 0

    async def messages(self) -> list[AbstractIncomingMessage]:
        queue = await self.channel.get_queue(self.name, ensure=False)
        found = []
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            found.append(message)
        return found


@contextlib.asynccontextmanager
async def tap(rabbit: Rabbit, adapter: str = "population") -> AsyncIterator[Tap]:
    connection = await aio_pika.connect(rabbit.url)
    try:
        channel = await connection.channel()
        exchange = await channel.get_exchange(REQUESTS_EXCHANGE, ensure=False)
        queue = await channel.declare_queue(f"tap.{adapter}", durable=False)
        await queue.bind(exchange, routing_key=adapter)
        yield Tap(channel, queue.name)
    finally:
        await connection.close()


class RunningWriter:
    def __init__(self, settings: Settings, path: Path) -> None:
        key = settings.audit.chain_key.get_secret_value().encode()
        self.store = AuditStore(path, key)
        # Checkpoints beside the test's store, never in the project's var/.
        audit = settings.audit.model_copy(
            update={
                "checkpoint_key_file": path.parent / "audit-checkpoint.pem",
                "checkpoint_file": path.parent / "audit-checkpoints.jsonl",
                "archive_dir": path.parent / "audit-archive",
            }
        )
        self.writer = AuditWriter(settings.model_copy(update={"audit": audit}), store=self.store)
        self.task = asyncio.create_task(self.writer.run())

    async def connected(self) -> None:
        async with asyncio.timeout(15):
            await self.writer.connected.wait()

    async def stop(self) -> None:
        self.writer.stop()
        await asyncio.wait_for(self.task, 15)


@contextlib.asynccontextmanager
async def audit_writer(settings: Settings, path: Path) -> AsyncIterator[RunningWriter]:
    running = RunningWriter(settings, path)
    try:
        await running.connected()
        yield running
    finally:
        if not running.task.done():
            await running.stop()
        running.store.close()
