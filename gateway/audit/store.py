"""The audit store: an append-only SQLite file in which every record carries its predecessor's hash.

Each record's `hash` is HMAC-SHA256 (keyed with `audit.chain_key`) over its
sequence number, its fields and the previous record's hash, so:

- an edited record no longer matches its own hash;
- a deleted record leaves a gap in the sequence (at the end: the `head` row,
  written in the same transaction, says how far the chain went);
- an inserted or reordered record does not link to the one before it, and
  cannot be given a valid hash without the key.

`verify()` walks the whole chain and names the first bad record. Triggers
refuse UPDATE and DELETE, so no tool or mistake alters records in place;
someone who drops them is what the chain is for. Writes are transactions with
`synchronous=FULL`: when `append` returns, the records are on disk.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson

from schemas.audit import COLUMNS, EXTRA_FIELDS, FIELDS, TEXT_FIELDS

GENESIS = "0" * 64

_SCHEMA = f"""
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY,
    {", ".join(f"{name} TEXT" for name in TEXT_FIELDS)},
    authenticated INTEGER NOT NULL,
    status INTEGER NOT NULL,
    duration_ms REAL NOT NULL,
    {", ".join(f"{name} TEXT" for name in EXTRA_FIELDS)},
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS records_event ON records (event_id);
CREATE INDEX IF NOT EXISTS records_client_time ON records (client_id, time);
CREATE INDEX IF NOT EXISTS records_subject ON records (subject_hash);
CREATE INDEX IF NOT EXISTS records_time ON records (time);
CREATE TABLE IF NOT EXISTS head (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chain_base (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL,
    hash TEXT NOT NULL,
    archive_digest TEXT NOT NULL
);
CREATE TRIGGER IF NOT EXISTS records_no_update BEFORE UPDATE ON records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
CREATE TRIGGER IF NOT EXISTS records_no_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END;
"""
_COLUMNS = ", ".join(COLUMNS)
_NO_DELETE = """CREATE TRIGGER records_no_delete BEFORE DELETE ON records
BEGIN SELECT RAISE(ABORT, 'audit records are append-only'); END"""


class MalformedEvent(ValueError):
    """An audit event without the fields a record needs."""


Row = tuple[Any, ...]


def normalise(event: dict[str, Any]) -> Row:
    """The event's recorded values, typed as SQLite gives them back (what is hashed)."""
    try:
        texts = tuple(None if event.get(f) is None else str(event[f]) for f in TEXT_FIELDS)
        numbers = (
            int(bool(event["authenticated"])),
            int(event["status"]),
            float(event["duration_ms"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedEvent(str(exc)) from None
    if not texts[0] or not texts[1]:
        raise MalformedEvent("event_id and time are required")
    extras = tuple(None if event.get(f) is None else str(event[f]) for f in EXTRA_FIELDS)
    return (*texts, *numbers, *extras)


_BASE = len(FIELDS) - len(EXTRA_FIELDS)


def chain_hash(key: bytes, seq: int, row: Row, prev_hash: str) -> str:
    # Records without the later fields hash as they always did (stores written before them).
    fields = row[:_BASE] if all(v is None for v in row[_BASE:]) else row
    material = orjson.dumps([seq, *fields, prev_hash])
    return hmac.new(key, material, hashlib.sha256).hexdigest()


@dataclass(frozen=True, slots=True)
class Finding:
    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class Verification:
    records: int
    head: str
    first_bad: Finding | None

    @property
    def ok(self) -> bool:
        return self.first_bad is None


class AuditStore:
    def __init__(self, path: Path, chain_key: bytes) -> None:
        if not chain_key:
            raise ValueError("audit.chain_key is empty: run `lgsp init` (or set it)")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self._key = chain_key
        # One connection, used by one thread at a time (the writer's executor, or the CLI).
        self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript(_SCHEMA)
        self._migrate()

    def _migrate(self) -> None:
        """Add the columns a store written by an older version lacks (empty in old records)."""
        present = {row[1] for row in self._db.execute("PRAGMA table_info(records)")}
        for name in EXTRA_FIELDS:
            if name not in present:
                self._db.execute(f"ALTER TABLE records ADD COLUMN {name} TEXT")

    def close(self) -> None:
        self._db.close()

    def head(self) -> tuple[int, str]:
        """The chain's last sequence number and hash, as the `head` row records them."""
        return self._head()

    def hash_at(self, seq: int) -> str | None:
        row = self._db.execute("SELECT hash FROM records WHERE seq = ?", (seq,)).fetchone()
        return None if row is None else str(row[0])

    def _head(self) -> tuple[int, str]:
        row = self._db.execute("SELECT seq, hash FROM head WHERE id = 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def append(self, events: Sequence[dict[str, Any]]) -> int:
        """Append events in one durable transaction; already recorded event ids are skipped
        (delivery is at-least-once). Returns how many were new."""
        rows = [normalise(e) for e in events]
        placeholders = ", ".join("?" * (len(FIELDS) + 3))
        written = 0
        self._db.execute("BEGIN IMMEDIATE")
        try:
            seq, prev = self._head()
            seen: set[str] = set()
            for row in rows:
                event_id = row[0]
                if (
                    event_id in seen
                    or self._db.execute(
                        "SELECT 1 FROM records WHERE event_id = ?", (event_id,)
                    ).fetchone()
                ):
                    continue
                seen.add(event_id)
                seq += 1
                digest = chain_hash(self._key, seq, row, prev)
                self._db.execute(
                    f"INSERT INTO records ({_COLUMNS}) VALUES ({placeholders})",  # noqa: S608 (fixed column names)
                    (seq, *row, prev, digest),
                )
                prev = digest
                written += 1
            self._db.execute(
                "INSERT INTO head (id, seq, hash) VALUES (1, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
                (seq, prev),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return written

    def count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM records").fetchone()[0])

    def base(self) -> tuple[int, str, str]:
        """Where the live chain begins: the last archived record's seq and hash, and the
        digest of the archive holding it ((0, GENESIS, GENESIS) before any archive)."""
        row = self._db.execute(
            "SELECT seq, hash, archive_digest FROM chain_base WHERE id = 1"
        ).fetchone()
        return (int(row[0]), str(row[1]), str(row[2])) if row else (0, GENESIS, GENESIS)

    def oldest(self, before: str, limit: int) -> list[dict[str, Any]]:
        """The live chain's first records older than `before` (ISO time), oldest first, up to
        the first younger one (an archive is always a prefix of the chain)."""
        found: list[dict[str, Any]] = []
        query = f"SELECT {_COLUMNS} FROM records ORDER BY seq LIMIT ?"  # noqa: S608 (fixed column names)
        for record in self._db.execute(query, (limit,)):
            row = dict(zip(COLUMNS, record, strict=True))
            if row["time"] >= before:
                break
            found.append(row)
        return found

    def drop_archived(self, last_seq: int, last_hash: str, archive_digest: str) -> int:
        """Remove records up to `last_seq` (written to an archive, durably, before this) and
        move the chain's base there, in one transaction; the append-only guard stays on for
        everyone else."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            self._db.execute("DROP TRIGGER IF EXISTS records_no_delete")
            removed = self._db.execute("DELETE FROM records WHERE seq <= ?", (last_seq,)).rowcount
            self._db.execute(_NO_DELETE)
            self._db.execute(
                "INSERT INTO chain_base (id, seq, hash, archive_digest) VALUES (1, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
                "archive_digest = excluded.archive_digest",
                (last_seq, last_hash, archive_digest),
            )
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return int(removed)

    def verify(self) -> Verification:
        base_seq, base_hash, _ = self.base()
        expected, prev, count = base_seq + 1, base_hash, 0
        cursor = self._db.execute(f"SELECT {_COLUMNS} FROM records ORDER BY seq")  # noqa: S608 (fixed column names)
        for record in cursor:
            seq, row, prev_hash, digest = record[0], record[1:-2], record[-2], record[-1]
            if seq != expected:
                return Verification(
                    count, prev, Finding(expected, f"missing: the chain jumps to record {seq}")
                )
            if prev_hash != prev:
                return Verification(
                    count,
                    prev,
                    Finding(seq, "does not link to the record before it (inserted or reordered)"),
                )
            if not hmac.compare_digest(chain_hash(self._key, seq, tuple(row), prev), digest):
                return Verification(count, prev, Finding(seq, "altered: its hash does not match"))
            prev, expected, count = digest, expected + 1, count + 1
        head_seq, head_hash = self._head()
        last = base_seq + count
        if head_seq > last:
            return Verification(count, prev, Finding(last + 1, "missing: deleted from the end"))
        if head_seq != last or head_hash != prev:
            return Verification(count, prev, Finding(last, "the head does not match the chain"))
        return Verification(count, prev, None)

    def search(
        self,
        *,
        client_id: str | None = None,
        event_id: str | None = None,
        subject_hash: str | None = None,
        operation: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> Iterator[dict[str, Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("client_id", client_id),
            ("event_id", event_id),
            ("subject_hash", subject_hash),
            ("operation", operation),
        ):
            if value is not None:
                clauses.append(f"{column} = ?")
                params.append(value)
        if since is not None:
            clauses.append("time >= ?")
            params.append(since.isoformat(timespec="microseconds"))
        if until is not None:
            clauses.append("time < ?")
            params.append(until.isoformat(timespec="microseconds"))
        where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
        query = f"SELECT {_COLUMNS} FROM records {where} ORDER BY seq LIMIT ?"  # noqa: S608 (fixed columns, bound values)
        names = COLUMNS
        for record in self._db.execute(query, (*params, limit)):
            yield dict(zip(names, record, strict=True))
