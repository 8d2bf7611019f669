"""The audit store's chain names the first bad record for every kind of tampering."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.audit.store import AuditStore, MalformedEvent
from schemas.audit import FIELDS, subject_hash

KEY = b"chain-key-for-tests"
START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)


def event(i: int, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "event_id": uuid.uuid4().hex,
        "time": (START + timedelta(minutes=i)).isoformat(timespec="microseconds"),
        "request_id": f"req-{i:08d}",
        "client_id": "one-stop" if i % 2 else "clinic",
        "authenticated": True,
        "operation": "population/citizen-verify",
        "officer_id": "CB-0042",
        "procedure_code": "1.001612",
        "case_id": f"HS-{i}",
        "subject_hash": subject_hash(b"k", f"0310950{i:05d}"),
        "status": 200,
        "request_hash": "ab" * 32,
        "duration_ms": 12.5 + i,
    }
    base.update(changes)
    return base


def opened(path: Path, key: bytes = KEY) -> closing[AuditStore]:
    """The store, closed when the block ends (its SQLite connection with it)."""
    return closing(AuditStore(path, key))


def raw(path: Path) -> sqlite3.Connection:
    """The attacker's connection: drops the append-only triggers first."""
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("DROP TRIGGER IF EXISTS records_no_update")
    db.execute("DROP TRIGGER IF EXISTS records_no_delete")
    return db


def edit(db: sqlite3.Connection, seq: int, n: int) -> None:
    column = ["client_id", "status", "subject_hash", "time", "duration_ms"][seq % 5]
    value: Any = {"status": 403, "duration_ms": 0.5}.get(column, "edited")
    db.execute(f"UPDATE records SET {column} = ? WHERE seq = ?", (value, seq))  # noqa: S608


def delete(db: sqlite3.Connection, seq: int, n: int) -> None:
    db.execute("DELETE FROM records WHERE seq = ?", (seq,))


def insert(db: sqlite3.Connection, seq: int, n: int) -> None:
    # Make room at `seq`, then insert a forged record linked to its predecessor.
    db.execute("UPDATE records SET seq = -(seq + 1) WHERE seq >= ?", (seq,))
    db.execute("UPDATE records SET seq = -seq WHERE seq < 0")
    prev = db.execute("SELECT hash FROM records WHERE seq = ?", (seq - 1,)).fetchone()
    forged = event(seq, client_id="intruder")
    columns = ", ".join(("seq", *FIELDS, "prev_hash", "hash"))
    values = (seq, *(forged.get(f) for f in FIELDS), prev[0] if prev else "0" * 64, "f" * 64)
    db.execute(f"INSERT INTO records ({columns}) VALUES ({', '.join('?' * len(values))})", values)  # noqa: S608


def reorder(db: sqlite3.Connection, seq: int, n: int) -> None:
    # Swap the contents of record `seq` with a later one (seq numbers stay in order).
    other = seq + 1 + (seq * 7) % (n - seq)
    db.execute("UPDATE records SET seq = -1 WHERE seq = ?", (seq,))
    db.execute("UPDATE records SET seq = ? WHERE seq = ?", (seq, other))
    db.execute("UPDATE records SET seq = ? WHERE seq = -1", (other,))


Tamper = Callable[[sqlite3.Connection, int, int], None]


@st.composite
def tampering(draw: st.DrawFn) -> tuple[int, str, int]:
    n = draw(st.integers(min_value=2, max_value=25))
    kind = draw(st.sampled_from(["edit", "delete", "insert", "reorder"]))
    top = n - 1 if kind == "reorder" else n
    seq = draw(st.integers(min_value=1, max_value=top))
    return n, kind, seq


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(case=tampering())
def test_verify_names_the_first_tampered_record(tmp_path: Path, case: tuple[int, str, int]) -> None:
    n, kind, seq = case
    path = tmp_path / f"{uuid.uuid4().hex}.sqlite3"
    with opened(path) as store:
        # Written in a few batches, as the writer does.
        events = [event(i) for i in range(1, n + 1)]
        store.append(events[: n // 2])
        store.append(events[n // 2 :])
        assert store.verify().ok
        tamper: dict[str, Tamper] = {
            "edit": edit,
            "delete": delete,
            "insert": insert,
            "reorder": reorder,
        }
        with closing(raw(path)) as db:
            tamper[kind](db, seq, n)
        result = store.verify()
    assert result.first_bad is not None, f"{kind} at {seq} of {n} went unnoticed"
    assert result.first_bad.seq == seq, (kind, seq, n, result.first_bad)
    assert result.records == seq - 1  # everything before it is intact


def test_records_cannot_be_altered_in_place(tmp_path: Path) -> None:
    with opened(tmp_path / "a.sqlite3") as store:
        store.append([event(1)])
    with closing(sqlite3.connect(tmp_path / "a.sqlite3")) as db:
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("UPDATE records SET status = 200")
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            db.execute("DELETE FROM records")


def test_a_redelivered_event_is_written_once(tmp_path: Path) -> None:
    with opened(tmp_path / "a.sqlite3") as store:
        first = event(1)
        assert store.append([first, event(2)]) == 2
        assert store.append([first]) == 0
        assert store.append([event(3), event(3, event_id=first["event_id"])]) == 1
        assert store.count() == 3
        assert store.verify().ok


def test_the_chain_needs_its_key(tmp_path: Path) -> None:
    with opened(tmp_path / "a.sqlite3") as store:
        store.append([event(1), event(2)])
    with opened(tmp_path / "a.sqlite3", b"another key") as other:
        assert not other.verify().ok


def test_a_malformed_event_writes_nothing(tmp_path: Path) -> None:
    with opened(tmp_path / "a.sqlite3") as store:
        with pytest.raises(MalformedEvent):
            store.append([event(1), {"event_id": "x"}])
        assert store.count() == 0


def test_search_by_client_subject_and_time(tmp_path: Path) -> None:
    with opened(tmp_path / "a.sqlite3") as store:
        store.append([event(i) for i in range(1, 11)])
        by_client = list(store.search(client_id="clinic"))
        assert [r["seq"] for r in by_client] == [2, 4, 6, 8, 10]
        subject = subject_hash(b"k", "031095000007")
        assert [r["case_id"] for r in store.search(subject_hash=subject)] == ["HS-7"]
        window = store.search(
            since=START + timedelta(minutes=3), until=START + timedelta(minutes=5)
        )
        assert [r["seq"] for r in window] == [3, 4]
