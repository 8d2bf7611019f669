"""The audit spool on its own: durable appends, bounds, draining, locks and torn lines."""

from __future__ import annotations

import asyncio
import fcntl
import os
from pathlib import Path

import orjson
import pytest

from gateway.audit.spool import AuditSpool


def event(i: int) -> bytes:
    return orjson.dumps({"event_id": f"e{i:04d}", "time": "t", "status": 200})


class Sink:
    """Where drained batches go; fails while `failing` is set."""

    def __init__(self) -> None:
        self.events: list[dict[str, object]] = []
        self.failing = False

    async def publish(self, batch: bytes, _message_id: str) -> None:
        if self.failing:
            raise ConnectionError("broker away")
        self.events.extend(orjson.loads(batch))


async def test_appends_are_on_disk_when_they_return_and_concurrent_ones_share_a_file(
    tmp_path: Path,
) -> None:
    spool = AuditSpool(tmp_path, max_bytes=1 << 20, max_events=100)
    assert all(await asyncio.gather(*(spool.append(event(i)) for i in range(20))))
    (path,) = spool.files()
    assert len(path.read_bytes().splitlines()) == 20
    assert spool.events == 20
    assert spool.size == path.stat().st_size
    assert os.stat(path).st_mode & 0o777 == 0o600
    spool.close()


async def test_a_full_spool_refuses_by_count_and_by_bytes(tmp_path: Path) -> None:
    by_count = AuditSpool(tmp_path / "a", max_bytes=1 << 20, max_events=10)
    assert [await by_count.append(event(i)) for i in range(11)] == [True] * 10 + [False]
    assert not by_count.has_room(0.9)
    by_bytes = AuditSpool(tmp_path / "b", max_bytes=len(event(0)) * 3 + 3, max_events=100)
    assert [await by_bytes.append(event(i)) for i in range(4)] == [True] * 3 + [False]
    by_count.close()
    by_bytes.close()


async def test_draining_publishes_everything_once_and_keeps_a_file_until_all_is_confirmed(
    tmp_path: Path,
) -> None:
    spool = AuditSpool(tmp_path, max_bytes=1 << 20, max_events=1000)
    sink = Sink()
    for i in range(300):
        assert await spool.append(event(i))
    sink.failing = True
    with pytest.raises(ConnectionError):
        await spool.drain(sink.publish)
    assert spool.events == 300  # nothing confirmed: everything kept
    assert len(spool.files()) == 1
    sink.failing = False
    assert await spool.append(event(300))  # appends go on to a new file
    assert await spool.drain(sink.publish) == 301
    assert sorted(str(e["event_id"]) for e in sink.events) == [f"e{i:04d}" for i in range(301)]
    assert spool.files() == []
    assert spool.events == 0
    spool.close()


async def test_a_file_locked_by_a_live_writer_is_left_alone_and_a_torn_last_line_skipped(
    tmp_path: Path,
) -> None:
    spool = AuditSpool(tmp_path, max_bytes=1 << 20, max_events=100)
    sink = Sink()
    busy = tmp_path / "other.1.aaaa.1.spool"
    busy.write_bytes(event(1) + b"\n")
    left = tmp_path / "other.2.bbbb.1.spool"
    left.write_bytes(event(2) + b"\n" + b'{"event_id": "e00')
    fd = os.open(busy, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # another live process appends to it
        assert await spool.drain(sink.publish) == 1
        assert [e["event_id"] for e in sink.events] == ["e0002"]
        assert spool.files() == [busy]
    finally:
        os.close(fd)
    assert await spool.drain(sink.publish) == 1
    assert spool.files() == []
    spool.close()
