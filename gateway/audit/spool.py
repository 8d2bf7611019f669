"""The audit spool: events the broker did not confirm in time, kept on local disk until it does.

When an audit event cannot be confirmed by the broker within
`audit.publish_timeout` (the broker is away, paused, or blocked by an alarm),
the publisher appends it here instead: one JSON line per event, in a file of
this process's own (`<host>.<pid>.<random>.spool` under `audit.spool_dir`),
written with `O_APPEND` and fsync'd before `append` returns, so a spooled event
survives a crash of the gateway and of the machine. Appends that arrive while
one fsync runs share the next one (group commit, as in `batch.py`).

`drain` hands what the spool holds to `lgsp.audit` once the broker is back:
it seals the file being written (the next append opens a new one), then takes
every spool file of the directory it can lock, its own and those left by
gateway processes that are gone, publishes their events in batches with
confirms, and deletes a file only when all of its events are confirmed. An
event published twice (a drain cut short, or an event whose first publish
landed after all) is recorded once: the audit store skips event ids it has.

Each process holds an exclusive `flock` on the file it appends to, and a
drainer on the file it drains, so two processes never drain one file at once
and nobody drains a file still being written. The spool is bounded in bytes
and in events (`audit.spool_max_bytes`, `audit.spool_max_events`, counted for
what this process wrote and has not yet seen confirmed): a full spool refuses
the event, and the publisher then answers as when nothing could record it.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import secrets
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import orjson
import structlog

from gateway.ids import new_id

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.audit")

SUFFIX = ".spool"
DRAIN_BATCH = 256  # events per message when draining, as the group commit sends them
Publish = Callable[[bytes, str], Awaitable[None]]


@dataclass(slots=True)
class _Held:
    """A spool file of this process: its size and event count, until it is drained."""

    bytes: int = 0
    events: int = 0


class AuditSpool:
    def __init__(self, directory: Path, *, max_bytes: int, max_events: int) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.max_events = max_events
        self._name = f"{socket.gethostname()}.{os.getpid()}.{secrets.token_hex(4)}"
        self._serial = 0
        self._fd: int | None = None  # the file appended to, locked while open
        self._path: Path | None = None
        self._held: dict[Path, _Held] = {}
        self._queue: list[tuple[bytes, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._draining = asyncio.Lock()
        self.appended = asyncio.Event()  # set by every durable append (wakes the drainer)

    # -- what it holds ---------------------------------------------------------------------

    @property
    def events(self) -> int:
        """Events this process spooled that are not yet confirmed by the broker."""
        return sum(h.events for h in self._held.values())

    @property
    def size(self) -> int:
        """Bytes this process spooled that are not yet confirmed by the broker."""
        return sum(h.bytes for h in self._held.values())

    def files(self) -> list[Path]:
        with contextlib.suppress(FileNotFoundError):
            return sorted(p for p in self.directory.iterdir() if p.name.endswith(SUFFIX))
        return []

    def directory_bytes(self) -> int:
        """Bytes in every spool file of the directory (all gateway processes): a metric."""
        total = 0
        for path in self.files():
            with contextlib.suppress(FileNotFoundError):
                total += path.stat().st_size
        return total

    def has_room(self, share: float = 1.0) -> bool:
        """Whether this process's spool is below `share` of both its bounds."""
        return self.events < self.max_events * share and self.size < self.max_bytes * share

    def has_work(self) -> bool:
        return any(path != self._path or self.events for path in self.files())

    # -- appending -------------------------------------------------------------------------

    async def append(self, event: bytes) -> bool:
        """Durably keep one event (a JSON object); False when the spool is full or failed."""
        line = event + b"\n"
        pending = sum(len(b) for b, _ in self._queue)
        if (
            self.events + len(self._queue) + 1 > self.max_events
            or self.size + pending + len(line) > self.max_bytes
        ):
            log.error("audit.spool_full", events=self.events, bytes=self.size)
            return False
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._queue.append((line, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write())
        return await asyncio.shield(future)

    async def _write(self) -> None:
        while self._queue:
            batch, self._queue = self._queue, []
            data = b"".join(line for line, _ in batch)
            try:
                path = await asyncio.to_thread(self._write_durably, data)
            except OSError as exc:
                log.error("audit.spool_write_failed", error=type(exc).__name__, events=len(batch))
                ok = False
            else:
                held = self._held.setdefault(path, _Held())
                held.bytes += len(data)
                held.events += len(batch)
                ok = True
                self.appended.set()
            for _, future in batch:
                if not future.done():
                    future.set_result(ok)

    def _write_durably(self, data: bytes) -> Path:
        if self._fd is None or self._path is None:
            self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._serial += 1
            path = self.directory / f"{self._name}.{self._serial}{SUFFIX}"
            # Locked before it has its name: a drainer never sees it unlocked while we write.
            making = path.with_suffix(".new")
            fd = os.open(making, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_EXCL, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)  # ours alone while we append to it
            os.rename(making, path)
            self._fd, self._path = fd, path
            self._fsync_directory()  # the new name survives a crash too
        written = os.write(self._fd, data)
        if written != len(data):
            raise OSError(f"short write to the audit spool ({written} of {len(data)} bytes)")
        os.fsync(self._fd)
        return self._path

    def _fsync_directory(self) -> None:
        fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def _seal(self) -> None:
        """Stop appending to the current file (the next append opens a new one)."""
        if self._fd is not None:
            os.close(self._fd)  # releases its lock: a drainer may take it now
        self._fd = self._path = None

    # -- draining --------------------------------------------------------------------------

    async def drain(self, publish: Publish) -> int:
        """Publish every spooled event of every lockable spool file; return how many.

        Raises whatever `publish` raises (the file stays, to be drained again later)."""
        async with self._draining:
            if self._queue or (self._writer is not None and not self._writer.done()):
                return 0  # an append is being written: seal it next time
            self._seal()
            sent = 0
            for path in self.files():
                sent += await self._drain_file(path, publish)
            for path in [p for p in self._held if not p.exists()]:
                del self._held[path]  # drained by another gateway process
            return sent

    async def _drain_file(self, path: Path, publish: Publish) -> int:
        try:
            fd = os.open(path, os.O_RDONLY)
        except FileNotFoundError:
            return 0
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return 0  # being written or drained by a live process
            try:
                if os.stat(path).st_ino != os.fstat(fd).st_ino:
                    return 0  # drained and removed since we opened it
            except FileNotFoundError:
                return 0
            data = await asyncio.to_thread(_read_all, fd)
            events = _events(data)
            for start in range(0, len(events), DRAIN_BATCH):
                chunk = events[start : start + DRAIN_BATCH]
                await publish(b"[" + b",".join(chunk) + b"]", new_id())
            os.unlink(path)
            self._held.pop(path, None)
            if events:
                log.info("audit.spool_drained", events=len(events), file=path.name)
            return len(events)
        finally:
            os.close(fd)

    def close(self) -> None:
        self._seal()


def _read_all(fd: int) -> bytes:
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def _events(data: bytes) -> list[bytes]:
    """The well-formed event lines of a spool file (a line torn by a crash is left out:
    its append never returned, so nobody was answered on its strength)."""
    found = []
    for line in data.split(b"\n"):
        if not line:
            continue
        try:
            if isinstance(orjson.loads(line), dict):
                found.append(line)
        except orjson.JSONDecodeError:
            log.warning("audit.spool_line_torn", bytes=len(line))
    return found
