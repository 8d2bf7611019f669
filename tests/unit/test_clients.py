"""Clients in the config file: hashed secrets, `lgsp clients|keys|audit`, reload on change."""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import closing
from pathlib import Path

import pytest

from gateway.audit.store import AuditStore
from gateway.cli.main import main
from gateway.security.clients import ClientStore, check_secret, hash_secret
from schemas.config import Settings
from schemas.security import AuthSettings


def test_secrets_are_stored_hashed_and_checked_in_constant_form() -> None:
    stored = hash_secret("s3cret")
    assert "s3cret" not in stored
    assert stored.startswith("scrypt$")
    assert check_secret("s3cret", stored)
    assert not check_secret("s3cret!", stored)
    assert not check_secret("s3cret", "")
    assert not check_secret("s3cret", "md5$abc")
    assert hash_secret("s3cret") != stored  # salted


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A config written by `lgsp init`, in a temporary var/ directory."""
    path = tmp_path / "var" / "lgsp.toml"
    monkeypatch.setenv("LGSP_CONFIG", str(path))
    # The CLI configures logging for a process; in a test session that would outlive the test.
    monkeypatch.setattr("gateway.cli.main.configure_logging", lambda *_: None)
    assert main(["init"]) == 0
    return path


def test_init_creates_a_key_and_a_demo_client(config: Path) -> None:
    settings = Settings()
    assert list(settings.auth.keys_dir.glob("*.pem"))
    demo_file = config.parent / "demo-client.json"
    assert demo_file.stat().st_mode & 0o077 == 0
    demo = json.loads(demo_file.read_text())
    stored = settings.auth.clients[demo["client_id"]]
    assert check_secret(demo["client_secret"], stored.secret_hash)
    assert demo["client_secret"] not in config.read_text()
    assert settings.audit.subject_key.get_secret_value()
    assert settings.audit.chain_key.get_secret_value()


def test_clients_add_prints_the_secret_once_and_stores_its_hash(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    argv = ["clients", "add", "clinic-hp", "--allow", "population/citizen-verify"]
    assert main([*argv, "--allow", "population/citizen-verify#sensitive", "--rate", "5"]) == 0
    out = capsys.readouterr().out
    secret = next(line.split(": ", 1)[1] for line in out.splitlines() if "client_secret" in line)
    assert secret not in config.read_text()
    client = Settings().auth.clients["clinic-hp"]
    assert check_secret(secret, client.secret_hash)
    assert client.allow == ["population/citizen-verify", "population/citizen-verify#sensitive"]
    assert client.rate_limit.rate == 5
    assert main(["clients", "list"]) == 0
    assert "clinic-hp\tactive" in capsys.readouterr().out
    assert main(["clients", "add", "clinic-hp"]) == 2  # exists
    assert main(["clients", "add", "Bad Name"]) == 2


def test_a_revoked_client_is_seen_by_a_running_store(config: Path) -> None:
    assert main(["clients", "add", "clinic-hp", "--allow", "population/*"]) == 0
    store = ClientStore(AuthSettings(reload_interval=0, **_auth(config)), config)
    client = store.get("clinic-hp")
    assert client is not None
    assert not client.revoked
    assert main(["clients", "revoke", "clinic-hp"]) == 0
    os.utime(config, (time.time() + 1, time.time() + 1))  # a newer mtime, whatever the clock
    revoked = store.get("clinic-hp")
    assert revoked is not None
    assert revoked.revoked


def test_a_broken_edit_keeps_the_last_good_clients(config: Path) -> None:
    store = ClientStore(AuthSettings(reload_interval=0, **_auth(config)), config)
    config.write_text(config.read_text() + '\n[auth.clients.x]\nallow = ["not a grant"]\n')
    os.utime(config, (time.time() + 1, time.time() + 1))
    assert store.get("demo") is not None


def _auth(config: Path) -> dict[str, object]:
    from gateway.security.clients import load_auth_section

    section = load_auth_section(config)
    section.pop("reload_interval", None)
    return section


def test_keys_rotate_adds_a_signing_key(config: Path) -> None:
    before = set(Settings().auth.keys_dir.glob("*.pem"))
    assert main(["keys", "rotate"]) == 0
    after = set(Settings().auth.keys_dir.glob("*.pem"))
    assert before < after


def test_audit_verify_exit_status_says_whether_the_chain_holds(
    config: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.unit.test_audit_store import event

    audit = Settings().audit
    store = AuditStore(audit.store, audit.chain_key.get_secret_value().encode())
    store.append([event(i) for i in range(1, 6)])
    store.close()
    assert main(["audit", "verify"]) == 0
    assert "ok: 5 records" in capsys.readouterr().out
    assert main(["audit", "search", "--client", "clinic"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 2
    with closing(sqlite3.connect(audit.store)) as db:
        db.execute("DROP TRIGGER records_no_update")
        db.execute("UPDATE records SET client_id = 'someone' WHERE seq = 3")
        db.commit()
    assert main(["audit", "verify"]) == 1
    assert "record 3" in capsys.readouterr().err
