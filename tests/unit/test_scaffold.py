"""`lgsp new adapter` writes a complete package from its templates: every file, valid Python
that ruff passes with the project's rules, the name threaded through, nothing overwritten."""

from __future__ import annotations

import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from adapters.errors import ConfigError
from gateway.cli.scaffold import new_adapter

EXPECTED = {
    "README.md",
    "pyproject.toml",
    "lgsp_parcel_map/__init__.py",
    "lgsp_parcel_map/client.py",
    "lgsp_parcel_map/mock.py",
    "lgsp_parcel_map/py.typed",
    "lgsp_parcel_map/schemas.py",
    "lgsp_parcel_map/wire.py",
    "tests/conftest.py",
    "tests/test_contract.py",
    "tests/test_end_to_end.py",
}


def test_the_package_has_every_file_and_both_entry_points(tmp_path: Path) -> None:
    root = new_adapter("parcel-map", tmp_path, title="Parcel map", port=8799)
    assert root == tmp_path / "lgsp-parcel-map"
    assert {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()} == EXPECTED
    project = tomllib.loads((root / "pyproject.toml").read_text())
    points = project["project"]["entry-points"]
    assert points["lgsp.adapters"] == {"parcel-map": "lgsp_parcel_map:adapter"}
    assert points["lgsp.mocks"] == {"parcel-map": "lgsp_parcel_map.mock:setup_mock"}
    adapter_source = (root / "lgsp_parcel_map/__init__.py").read_text()
    assert '"parcel-map"' in adapter_source
    assert "http://127.0.0.1:8799" in adapter_source
    assert "$" not in adapter_source  # every placeholder was filled


def test_the_generated_code_compiles_and_passes_ruff(tmp_path: Path) -> None:
    root = new_adapter("parcel-map", tmp_path)
    for source in root.rglob("*.py"):
        compile(source.read_text(), str(source), "exec")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "."],
        cwd=root,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout


def test_it_refuses_a_bad_name_and_an_existing_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="lowercase words joined by hyphens"):
        new_adapter("Parcel_Map", tmp_path)
    new_adapter("parcel-map", tmp_path)
    with pytest.raises(ConfigError, match="exists"):
        new_adapter("parcel-map", tmp_path)
