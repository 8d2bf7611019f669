"""`lgsp audit-writer`: consume `lgsp.audit` and append to the hash-chained store.

Messages are written in batches, each one durable SQLite transaction, and
acknowledged only after the commit: a writer killed at any moment loses
nothing (unacknowledged events are redelivered, and an event already written
is recognised by its id and not written twice). While no writer runs, events
wait in the quorum queue.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import time
from pathlib import Path
from typing import Any

import orjson
import structlog
from aio_pika.abc import AbstractIncomingMessage

from adapters import amqp
from adapters.connection import BROKER_ERRORS, keep_connected
from adapters.topology import declare_topology
from gateway.audit.archive import ArchiveError, archive_old
from gateway.audit.checkpoints import Checkpointer
from gateway.audit.store import AuditStore, MalformedEvent
from schemas.config import Settings
from schemas.envelope import AUDIT_QUEUE

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.audit")


class AuditWriter:
    def __init__(self, settings: Settings, store: AuditStore | None = None) -> None:
        self.settings = settings
        self.store = store or AuditStore(
            settings.audit.store, settings.audit.chain_key.get_secret_value().encode()
        )
        self.batch_size = settings.audit.batch_size
        self.connected = asyncio.Event()
        self.written = 0
        self._progress = asyncio.Condition()
        self._stop = asyncio.Event()
        self._batch: asyncio.Future[None] | None = None
        # Signed checkpoints of the head (gateway/audit/checkpoints.py); the lock keeps the
        # store's one connection to one thread at a time.
        self.checkpoints = Checkpointer(settings.audit)
        self._store_lock = asyncio.Lock()

    async def checkpoint(self, *, final: bool = False) -> None:
        """Sign the head when due (or, `final`, whenever it moved since the last checkpoint)."""
        async with self._store_lock:
            seq, head = await asyncio.to_thread(self.store.head)
            now = time.monotonic()
            if self.checkpoints.due(seq, now, final=final):
                try:
                    await asyncio.to_thread(self.checkpoints.write, seq, head, now)
                except OSError as exc:  # records stay written; the next checkpoint covers them
                    log.error("audit.checkpoint_failed", error=type(exc).__name__, seq=seq)

    async def archive(self) -> Path | None:
        """Move the records older than `audit.retention_days` into an archive (0: never)."""
        audit = self.settings.audit
        if audit.retention_days <= 0:
            return None
        async with self._store_lock:
            try:
                path = await asyncio.to_thread(
                    archive_old, self.store, audit.archive_dir, audit.retention_days
                )
            except (OSError, ArchiveError) as exc:  # the records stay live; tried again later
                log.error("audit.archive_failed", error=type(exc).__name__, detail=str(exc))
                return None
        if path is not None:
            log.info("audit.archived", archive=str(path))
        return path

    async def _checkpoint_timer(self) -> None:
        """Checkpoints every `checkpoint_interval` s; archiving every `archive_interval` s."""
        archived_at = -float("inf")
        while True:
            await self.checkpoint()
            now = time.monotonic()
            if now - archived_at >= self.settings.audit.archive_interval:
                archived_at = now
                await self.archive()
            await asyncio.sleep(self.settings.audit.checkpoint_interval)

    def stop(self) -> None:
        self._stop.set()

    async def wait_written(self, count: int) -> None:
        """Until this writer has written at least `count` new records (tests, tools)."""
        async with self._progress:
            await self._progress.wait_for(lambda: self.written >= count)

    async def run(self) -> None:
        timer = asyncio.create_task(self._checkpoint_timer())
        try:
            await keep_connected(
                self._serve_one_connection,
                stop=self._stop,
                max_delay=self.settings.bus.reconnect_max_delay,
                log=log,
                event="audit.writer_disconnected",
            )
        finally:
            timer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timer
            await self.checkpoint(final=True)

    async def _serve_one_connection(self) -> None:
        connection = await amqp.connect(
            self.settings.bus.url.get_secret_value(),
            connect_timeout=self.settings.bus.connect_timeout,
            name="lgsp-audit-writer",
        )
        closed = asyncio.Event()
        connection.close_callbacks.add(lambda *_: closed.set())
        inbox: asyncio.Queue[AbstractIncomingMessage] = asyncio.Queue()
        try:
            channel = await connection.channel()
            await channel.set_qos(prefetch_count=self.batch_size * 2)
            await declare_topology(channel, [], self.settings.bus)
            queue = await channel.get_queue(AUDIT_QUEUE, ensure=False)
            tag = await queue.consume(inbox.put)
            self.connected.set()
            log.info("audit.writer_connected", store=str(self.store.path))
            writing = asyncio.create_task(self._write_loop(inbox))
            stopping = asyncio.create_task(self._stop.wait())
            lost = asyncio.create_task(closed.wait())
            done, _ = await asyncio.wait(
                {writing, stopping, lost}, return_when=asyncio.FIRST_COMPLETED
            )
            for task in (writing, stopping, lost):
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await writing
            if self._batch is not None and not self._batch.done():
                # A batch being written finishes its transaction and its acks first.
                with contextlib.suppress(*BROKER_ERRORS):
                    await self._batch
            if writing in done:
                writing.result()
            if lost in done:
                raise ConnectionError("broker connection lost")
            with contextlib.suppress(*BROKER_ERRORS):
                await queue.cancel(tag)
        finally:
            self.connected.clear()
            if not connection.is_closed:
                with contextlib.suppress(*BROKER_ERRORS):
                    await connection.close()

    async def _write_loop(self, inbox: asyncio.Queue[AbstractIncomingMessage]) -> None:
        while True:
            batch = [await inbox.get()]
            while len(batch) < self.batch_size and not inbox.empty():
                batch.append(inbox.get_nowait())
            self._batch = asyncio.ensure_future(self._write(batch))
            await asyncio.shield(self._batch)

    async def _write(self, batch: list[AbstractIncomingMessage]) -> None:
        """Write the events of a batch of messages in one transaction, then ack the messages.

        A message holds one event (an object) or, from the gateway's group commit, several
        (an array). One malformed event never blocks the others: on a refusal the events are
        written one by one and the bad ones are logged and left out.
        """
        parsed: list[tuple[AbstractIncomingMessage, list[dict[str, Any]] | None]] = [
            (message, _events_of(message.body)) for message in batch
        ]
        good = [event for _, events in parsed if events for event in events]
        async with self._store_lock:
            try:
                written = await asyncio.to_thread(self.store.append, good)
            except MalformedEvent:
                written = 0
                for event in good:
                    try:
                        written += await asyncio.to_thread(self.store.append, [event])
                    except MalformedEvent:
                        log.error("audit.event_malformed", event_id=str(event.get("event_id")))
        await self.checkpoint()
        last_good: AbstractIncomingMessage | None = None
        for message, events in parsed:
            if events is None:
                log.error("audit.message_malformed", message_id=message.message_id)
                await message.reject(requeue=False)
            else:
                last_good = message
        if last_good is not None:
            # One ack for the batch: `multiple` covers every earlier delivery on this channel,
            # and all of them are in this batch or an earlier one (written, or rejected above).
            await last_good.ack(multiple=True)
        async with self._progress:
            self.written += written
            self._progress.notify_all()
        log.debug("audit.batch_written", messages=len(batch), new=written)


def _events_of(body: bytes) -> list[dict[str, Any]] | None:
    """The events a message carries, or None when it is not an event or a list of them."""
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    events = value if isinstance(value, list) else [value]
    if not events or not all(isinstance(e, dict) and e for e in events):
        return None
    return events


def run_audit_writer(settings: Settings) -> int:
    async def main() -> None:
        writer = AuditWriter(settings)
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, writer.stop)
        try:
            await writer.run()
        finally:
            writer.store.close()

    asyncio.run(main())
    return 0
