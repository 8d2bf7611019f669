"""Subject access over a real store file: one person's records only, newest first, a page at a
time, confidential clients hidden until their date, where the archives begin; old stores still
verify after the new columns are added."""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from pydantic import SecretStr, ValidationError

from adapters.audit import AuditTrail, subject_access
from adapters.central import CentralSession
from adapters.errors import TransientError
from gateway.audit.archive import archive_old
from gateway.audit.store import AuditStore
from schemas.audit import TEXT_FIELDS, subject_hash
from schemas.config import AdapterSettings, Settings
from schemas.subject_access import SubjectAccessRequest, SubjectAccessResponse
from tests.fixtures.fakes import context
from tests.unit.test_audit_store import KEY, event

SUBJECT_KEY = b"subject-key-for-tests"
ME, SOMEONE_ELSE = "031095000001", "031095000002"
TODAY = datetime.now(UTC).date()


def trail(path: Path) -> AuditTrail:
    settings = AdapterSettings(
        options={"store": str(path)}, credentials={"subject_key": SecretStr(SUBJECT_KEY.decode())}
    )
    return AuditTrail(CentralSession(settings), settings)


def record(i: int, subject: str, *, days_ago: int = 0, **changes: object) -> dict[str, object]:
    when = datetime.now(UTC) - timedelta(days=days_ago, minutes=100 - i)
    return event(
        i,
        time=when.isoformat(timespec="microseconds"),
        subject_hash=subject_hash(SUBJECT_KEY, subject),
        client_title=f"Agency {i % 2}",
        disclosed="base,addresses",
        **changes,
    )


async def ask(path: Path, **fields: object) -> SubjectAccessResponse:
    request = SubjectAccessRequest.model_validate({"personal_id": ME, **fields})
    return await subject_access(request, context(trail(path)))


@pytest.fixture
def store(tmp_path: Path) -> Path:
    path = tmp_path / "audit.sqlite3"
    store = AuditStore(path, KEY)
    soon = (TODAY + timedelta(days=10)).isoformat()
    past = (TODAY - timedelta(days=1)).isoformat()
    store.append(
        [
            record(1, ME, days_ago=40),
            record(2, SOMEONE_ELSE),
            record(3, ME, case_id="HS-police", disclose_after=soon),
            record(4, ME, case_id="HS-inspect", disclose_after=past),
            record(5, ME),
            record(6, ME),
        ]
    )
    store.close()
    return path


async def test_only_this_persons_visible_accesses_newest_first(store: Path) -> None:
    answer = await ask(store)
    assert [a.case_id for a in answer.accesses] == ["HS-6", "HS-5", "HS-inspect", "HS-1"]
    first = answer.accesses[0]
    assert (first.agency, first.disclosed, first.identifier) == (
        "Agency 0",
        ["base", "addresses"],
        "personal_id",
    )
    assert first.procedure_name == "Đăng ký thường trú"
    assert answer.archived is False


async def test_pages_follow_the_cursor_without_overlap(store: Path) -> None:
    first = await ask(store, limit=3)
    assert first.next_cursor is not None
    second = await ask(store, limit=3, cursor=first.next_cursor)
    assert second.next_cursor is None
    cases = [a.case_id for a in first.accesses + second.accesses]
    assert cases == ["HS-6", "HS-5", "HS-inspect", "HS-1"]


async def test_a_receipt_finds_its_access_but_only_in_this_persons_trail(store: Path) -> None:
    mine = (await ask(store)).accesses[1]
    (found,) = (await ask(store, receipt=mine.receipt)).accesses
    assert found == mine
    db = AuditStore(store, KEY)
    try:
        (theirs,) = [r for r in db.search() if r["case_id"] == "HS-2"]
    finally:
        db.close()
    assert (await ask(store, receipt=theirs["event_id"])).accesses == []


async def test_the_period_bounds_the_trail(store: Path) -> None:
    recent = await ask(store, since=(TODAY - timedelta(days=7)).isoformat())
    assert "HS-1" not in [a.case_id for a in recent.accesses]
    old = await ask(store, until=(TODAY - timedelta(days=30)).isoformat())
    assert [a.case_id for a in old.accesses] == ["HS-1"]


async def test_it_says_where_the_archives_begin(store: Path) -> None:
    writer = AuditStore(store, KEY)
    try:
        assert archive_old(writer, store.parent / "archive", retention_days=30) is not None
    finally:
        writer.close()
    answer = await ask(store)
    assert answer.archived is True
    assert "HS-1" not in [a.case_id for a in answer.accesses]
    assert answer.live_since is not None
    assert answer.live_since > datetime.now(UTC) - timedelta(days=2)


async def test_a_missing_store_is_transient_not_an_empty_trail(tmp_path: Path) -> None:
    with pytest.raises(TransientError):
        await ask(tmp_path / "nowhere.sqlite3")


def test_requests_are_validated_for_what_they_hold() -> None:
    for bad in (
        {"personal_id": "123"},
        {"personal_id": ME, "cursor": "seq; drop table"},
        {"personal_id": ME, "limit": 1000},
        {"personal_id": ME, "since": "2026-02-01", "until": "2026-01-01"},
        {"personal_id": ME, "unexpected": 1},
    ):
        with pytest.raises(ValidationError):
            SubjectAccessRequest.model_validate(bad)


def test_the_adapter_reads_the_store_and_key_of_the_audit_settings(tmp_path: Path) -> None:
    settings = Settings(audit={"store": tmp_path / "a.sqlite3", "subject_key": "k" * 32})
    derived = settings.adapter("audit")
    assert derived.options["store"] == str(tmp_path / "a.sqlite3")
    assert derived.credentials["subject_key"].get_secret_value() == "k" * 32


OLD_SCHEMA = f"""
CREATE TABLE records (
    seq INTEGER PRIMARY KEY,
    {", ".join(f"{name} TEXT" for name in TEXT_FIELDS)},
    authenticated INTEGER NOT NULL, status INTEGER NOT NULL, duration_ms REAL NOT NULL,
    prev_hash TEXT NOT NULL, hash TEXT NOT NULL
);
CREATE TABLE head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
"""


def test_a_store_written_before_the_new_columns_still_verifies_and_takes_new_records(
    tmp_path: Path,
) -> None:
    """The old hashing, computed here independently: [seq, 13 fields, prev_hash]."""
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path, isolation_level=None)
    db.executescript(OLD_SCHEMA)
    prev = "0" * 64
    for seq in (1, 2, 3):
        old = event(seq)
        values = [old[f] for f in TEXT_FIELDS] + [1, old["status"], old["duration_ms"]]
        digest = hmac.new(KEY, orjson.dumps([seq, *values, prev]), hashlib.sha256).hexdigest()
        columns = ", ".join(("seq", *TEXT_FIELDS, "authenticated", "status", "duration_ms"))
        db.execute(
            f"INSERT INTO records ({columns}, prev_hash, hash) VALUES ({', '.join('?' * 16)})",  # noqa: S608
            (seq, *values, prev, digest),
        )
        prev = digest
    db.execute("INSERT INTO head VALUES (1, 3, ?)", (prev,))
    db.close()
    store = AuditStore(path, KEY)  # migrates: adds the new columns
    assert store.verify().ok
    store.append([event(4, disclosed="base", client_title="Agency")])
    assert store.verify().ok
    assert [r["disclosed"] for r in store.search()] == [None, None, None, "base"]
    store.close()
