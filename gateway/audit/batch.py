"""Group commit for audit events: many events, few confirmed messages.

Every answer needs its audit event confirmed by the broker, and a confirmed
publish costs the gateway, the broker and the audit writer far more than the
event itself. So while one publish waits for its confirm, the events that
arrive meanwhile gather and go out together as one message (a JSON array)
when it returns. A lone event goes out at once: at low load nothing waits
for company, at high load the cost per event falls with the batch size.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from gateway.ids import new_id

MAX_BATCH = 256

Publish = Callable[[bytes, str], Awaitable[None]]


class AuditBatcher:
    def __init__(self, publish: Publish, max_batch: int = MAX_BATCH) -> None:
        self._publish = publish
        self._max_batch = max_batch
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._flusher: asyncio.Task[None] | None = None

    async def submit(self, event: bytes, wait: float) -> None:
        """Return once the batch holding `event` is confirmed; raise if it is not in `wait` s."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        # A waiter that gave up no longer looks at its future: its failure is expected.
        future.add_done_callback(lambda f: f.cancelled() or f.exception())
        self._pending.append((event, future))
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush())
        async with asyncio.timeout(wait):
            await asyncio.shield(future)

    async def _flush(self) -> None:
        while self._pending:
            batch = self._pending[: self._max_batch]
            del self._pending[: self._max_batch]
            body = b"[" + b",".join(event for event, _ in batch) + b"]"
            try:
                await self._publish(body, new_id())
            except Exception as exc:  # every waiter of this batch learns that it failed
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for _, future in batch:
                if not future.done():
                    future.set_result(None)
