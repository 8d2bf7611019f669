"""Secrets are written private from their first byte, and replaced atomically."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gateway.private_files import write_private


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The worst case: a umask that would let everyone read a new file."""
    old = os.umask(0)
    try:
        yield
    finally:
        os.umask(old)


def test_the_file_is_private_while_its_bytes_are_written(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, open_umask: None
) -> None:
    seen: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:  # called after the write, before the rename
        seen.append(stat.S_IMODE(os.fstat(fd).st_mode))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    target = tmp_path / "secret.json"
    write_private(target, '{"client_secret": "s3cr3t"}')
    assert seen == [0o600]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert target.read_text() == '{"client_secret": "s3cr3t"}'


def test_a_replacement_leaves_no_temporary_file_and_keeps_the_mode(
    tmp_path: Path, open_umask: None
) -> None:
    target = tmp_path / "lgsp.toml"
    write_private(target, b"first")
    write_private(target, b"second")
    assert target.read_bytes() == b"second"
    assert [p.name for p in tmp_path.iterdir()] == ["lgsp.toml"]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600


def test_a_failed_write_leaves_the_old_file_whole(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "key.pem"
    write_private(target, b"old key")

    def broken(_fd: int) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken)
    with pytest.raises(OSError, match="disk full"):
        write_private(target, b"new key")
    assert target.read_bytes() == b"old key"
    assert [p.name for p in tmp_path.iterdir()] == ["key.pem"]
