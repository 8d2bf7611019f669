"""Waiting for a live condition in tests, bounded, instead of sleeping a fixed time."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Awaitable, Callable

from gateway.http.operations import BUS
from tests.support.stack import Stack


async def wait_until(condition: Callable[[], Awaitable[bool]], within: float = 15) -> None:
    async with asyncio.timeout(within):
        while not await condition():
            await asyncio.sleep(0.05)


async def wait_for_consumers(stack: Stack, n: int, adapter: str = "population") -> None:
    """Until the gateway sees `n` consumers on the adapter's queue."""
    bus = stack.app[BUS]
    async with asyncio.timeout(20):
        await bus.connected.wait()
        while bus.consumers.get(adapter, 0) < n:
            await bus.refresh_consumers()
            await asyncio.sleep(0.1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port
