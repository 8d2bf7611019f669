"""What the package says it supports is what CI tests: the Python classifiers name the oldest
version `requires-python` allows (CI's default interpreter) and the ones `make test-pythons`
runs, and every test selection given there exists."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).parents[2]


def project() -> dict[str, object]:
    with (ROOT / "pyproject.toml").open("rb") as handle:
        table: dict[str, object] = tomllib.load(handle)["project"]
    return table


def other_pythons() -> dict[str, list[str]]:
    """`OTHER_PYTHONS` of the Makefile: interpreter name -> the pytest paths it runs."""
    found = re.search(r"^OTHER_PYTHONS\s*:=\s*(.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert found is not None, "the Makefile defines OTHER_PYTHONS"
    pairs = (spec.split("=", 1) for spec in found.group(1).split())
    return {name: paths.split(",") for name, paths in pairs}


def test_the_classifiers_name_exactly_the_tested_versions() -> None:
    classifiers = project()["classifiers"]
    assert isinstance(classifiers, list)
    declared = {
        c.rsplit(" :: ", 1)[1]
        for c in classifiers
        if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)
    }
    requires = project()["requires-python"]
    assert isinstance(requires, str)
    minimum = re.fullmatch(r">=(3\.\d+)", requires)
    assert minimum is not None, f"requires-python is a lower bound only: {requires!r}"
    tested = {minimum.group(1)} | {name.removeprefix("python") for name in other_pythons()}
    assert declared == tested


def test_every_selection_of_the_other_interpreters_exists() -> None:
    """A mistyped path would make pytest fail with 'file not found' (exit 4), never pass."""
    selections = other_pythons()
    assert selections
    for name, paths in selections.items():
        assert re.fullmatch(r"python3\.\d+", name), name
        for path in paths:
            assert (ROOT / path).is_dir(), f"{name}: {path} is not a folder of tests"
