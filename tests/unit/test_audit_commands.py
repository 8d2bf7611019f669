"""`lgsp audit verify --checkpoints | search --receipt | report | archive`; what init sets up."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from gateway.audit.checkpoints import Checkpointer, public_path
from gateway.audit.store import AuditStore
from gateway.cli.main import main
from schemas.config import Settings
from tests.unit.test_audit_store import event

SUBJECT = "031095000003"  # the subject of event(3) in tests/unit/test_audit_store.py


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config written by `lgsp init`, in a temporary var/ directory."""
    path = tmp_path / "var" / "lgsp.toml"
    monkeypatch.setenv("LGSP_CONFIG", str(path))
    monkeypatch.setattr("gateway.cli.main.configure_logging", lambda *_: None)
    assert main(["init"]) == 0
    return path


def written(settings: Settings, events: int, *, start: int = 1) -> AuditStore:
    """A store with `events` records, its head signed as the writer would sign it."""
    audit = settings.audit
    store = AuditStore(audit.store, audit.chain_key.get_secret_value().encode())
    key = audit.subject_key.get_secret_value().encode()
    batch = [event(i) for i in range(start, start + events)]
    for item in batch:
        item["subject_hash"] = _hash(key, f"0310950{int(item['request_id'][4:]):05d}")
    store.append(batch)
    seq, head = store.head()
    Checkpointer(audit).write(seq, head, 0.0)
    return store


def _hash(key: bytes, subject: str) -> str:
    from schemas.audit import subject_hash

    return subject_hash(key, subject)


def test_init_creates_the_checkpoint_key_private_with_its_public_half(config: Path) -> None:
    audit = Settings().audit
    assert audit.checkpoint_key_file.parent == config.parent
    assert audit.checkpoint_key_file.stat().st_mode & 0o777 == 0o600
    assert public_path(audit.checkpoint_key_file).exists()
    assert audit.checkpoint_file.parent == config.parent


def test_verify_with_checkpoints_catches_a_cut_tail_the_chain_cannot_see(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings = Settings()
    written(settings, 6).close()
    checkpoints = str(settings.audit.checkpoint_file)
    assert main(["audit", "verify", "--checkpoints", checkpoints]) == 0
    assert "ok: 6 records, chain head" in (out := capsys.readouterr().out)
    assert "1 signed checkpoints agree" in out
    db = sqlite3.connect(settings.audit.store)
    db.execute("DROP TRIGGER records_no_delete")
    db.execute("DELETE FROM records WHERE seq > 4")
    db.execute("UPDATE head SET seq = 4, hash = (SELECT hash FROM records WHERE seq = 4)")
    db.commit()
    db.close()
    assert main(["audit", "verify"]) == 0  # the chain alone is fooled
    capsys.readouterr()
    assert main(["audit", "verify", "--checkpoints", checkpoints]) == 1
    assert "truncated" in capsys.readouterr().err


def test_search_by_receipt_finds_exactly_that_record(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    store = written(Settings(), 4)
    receipt = next(r["event_id"] for r in store.search() if r["seq"] == 3)
    store.close()
    assert main(["audit", "search", "--receipt", receipt]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    assert json.loads(line)["seq"] == 3


def test_report_prints_a_subjects_trail_as_a_table_and_as_json(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written(Settings(), 5).close()
    assert main(["audit", "report", "--subject", SUBJECT, "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)
    assert (row["case_id"], row["procedure_name"]) == ("HS-3", "Đăng ký thường trú")
    assert main(["audit", "report", "--client", "clinic"]) == 0
    table = capsys.readouterr().out.splitlines()
    assert table[0].split() == [
        "time",
        "agency",
        "officer",
        "procedure",
        "case",
        "operation",
        "status",
        "disclosed",
    ]
    assert [line.split()[-4] for line in table[1:]] == ["HS-4", "HS-2"]  # newest first


def test_archive_moves_old_records_and_verify_walks_them_as_one_chain(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = Settings()
    old = (datetime.now(UTC) - timedelta(days=400)).isoformat(timespec="microseconds")
    store = AuditStore(settings.audit.store, settings.audit.chain_key.get_secret_value().encode())
    store.append([event(i, time=old) for i in (1, 2, 3)])
    store.append([event(i) for i in (4, 5)])
    store.close()
    monkeypatch.setenv("LGSP_AUDIT__RETENTION_DAYS", "365")
    assert main(["audit", "archive"]) == 0
    assert "archived up to record 3" in capsys.readouterr().out
    assert main(["audit", "verify"]) == 0
    assert "ok: 5 records (1 archives)" in capsys.readouterr().out


def test_archive_without_a_retention_period_is_refused(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    written(Settings(), 2).close()
    assert main(["audit", "archive"]) == 2
    assert "retention_days" in capsys.readouterr().err


def test_clients_add_confidential_until_a_date(config: Path) -> None:
    assert main(["clients", "add", "police", "--allow", "population/*", "--confidential-until",
                 "2027-01-01"]) == 0  # fmt: skip
    client = Settings().auth.clients["police"]
    assert client.confidential
    assert str(client.disclose_after) == "2027-01-01"
