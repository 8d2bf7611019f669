"""Reading the audit store, read-only, beside its writer: the queries subject access needs.

The adapter may not import the gateway (tests/unit/test_layering.py), so it
reads the SQLite file with its own few queries; the column names and the
subject hash it shares with the writer come from `schemas.audit`. The
connection is opened `mode=ro` (and `query_only`): this module cannot change
the store, and SQLite's WAL lets it read while the writer appends.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from schemas.audit import COLUMNS

_SELECT = ", ".join(COLUMNS)


class StoreUnavailable(Exception):
    """The audit store cannot be read (missing, or not yet created by the writer)."""


@dataclass(frozen=True, slots=True)
class TrailQuery:
    """Which records: by subject hashes or by client, in a period, before a cursor."""

    subject_hashes: Sequence[str] = ()
    client_id: str | None = None
    event_id: str | None = None  # one record, by its receipt
    since: datetime | None = None
    until: datetime | None = None
    before_seq: int | None = None
    # The citizen's view: records of confidential clients whose date is after this day are
    # left out. None (inspectors): everything.
    visible_on: date | None = None
    limit: int = 100


@dataclass(frozen=True, slots=True)
class TrailPage:
    records: list[dict[str, Any]]
    more: bool  # older records match too
    live_since: str | None  # the time of the live store's first record
    archived: bool  # records have been moved to archives


class TrailReader:
    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        if not self.path.exists():
            raise StoreUnavailable(f"no audit store at {self.path}")
        db = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, check_same_thread=False)
        try:
            db.execute("PRAGMA query_only = ON")
        except sqlite3.Error:
            db.close()
            raise
        return db

    def page(self, query: TrailQuery) -> TrailPage:
        clauses: list[str] = []
        params: list[Any] = []
        if query.subject_hashes:
            clauses.append(f"subject_hash IN ({', '.join('?' * len(query.subject_hashes))})")
            params.extend(query.subject_hashes)
        if query.client_id is not None:
            clauses.append("client_id = ?")
            params.append(query.client_id)
        if not clauses:
            raise ValueError("a trail is asked for a subject or a client")
        if query.event_id is not None:
            clauses.append("event_id = ?")
            params.append(query.event_id)
        if query.since is not None:
            clauses.append("time >= ?")
            params.append(query.since.isoformat(timespec="microseconds"))
        if query.until is not None:
            clauses.append("time < ?")
            params.append(query.until.isoformat(timespec="microseconds"))
        if query.before_seq is not None:
            clauses.append("seq < ?")
            params.append(query.before_seq)
        if query.visible_on is not None:
            clauses.append("(disclose_after IS NULL OR disclose_after <= ?)")
            params.append(query.visible_on.isoformat())
        sql = (
            f"SELECT {_SELECT} FROM records WHERE {' AND '.join(clauses)} "  # noqa: S608 (fixed columns, bound values)
            "ORDER BY seq DESC LIMIT ?"
        )
        try:
            db = self._connect()
        except sqlite3.Error as exc:
            raise StoreUnavailable(f"the audit store cannot be opened ({exc})") from exc
        try:
            rows = [
                dict(zip(COLUMNS, row, strict=True))
                for row in db.execute(sql, (*params, query.limit + 1))
            ]
            first = db.execute("SELECT time FROM records ORDER BY seq LIMIT 1").fetchone()
            base = db.execute("SELECT seq FROM chain_base WHERE id = 1").fetchone()
        except sqlite3.Error as exc:  # an older store the writer has not migrated yet
            raise StoreUnavailable(f"the audit store cannot be read ({exc})") from exc
        finally:
            db.close()
        return TrailPage(
            records=rows[: query.limit],
            more=len(rows) > query.limit,
            live_since=None if first is None else str(first[0]),
            archived=base is not None and int(base[0]) > 0,
        )
