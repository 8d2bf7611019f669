"""`lgsp init` writes a config the settings model reads back, with fresh secrets each time."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from gateway.cli.init import write_config
from schemas.config import Settings


def test_written_config_loads_and_is_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "lgsp.toml"
    assert write_config(path)
    monkeypatch.setenv("LGSP_CONFIG", str(path))
    settings = Settings()
    password = settings.broker.password.get_secret_value()
    assert password
    assert password in settings.bus.url.get_secret_value()
    assert settings.adapter("population").base_url.startswith("http://127.0.0.1:")
    assert settings.mocks["population_secret"]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_existing_config_is_kept_unless_forced(tmp_path: Path) -> None:
    path = tmp_path / "lgsp.toml"
    write_config(path)
    first = path.read_text()
    assert not write_config(path)
    assert path.read_text() == first
    assert write_config(path, force=True)
    assert path.read_text() != first


def test_environment_overrides_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "lgsp.toml"
    write_config(path)
    monkeypatch.setenv("LGSP_CONFIG", str(path))
    monkeypatch.setenv("LGSP_GATEWAY__PORT", "9123")
    assert Settings().gateway.port == 9123
