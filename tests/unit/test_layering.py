"""Dependencies point one way, and nothing imports in a circle.

Between packages: schemas ← adapters ← gateway; mocks stand apart. Inside
`gateway/`: nothing imports `cli/` or `testing/` (the shipped test support),
`http/` imports no other room, `audit/` imports neither `security/` nor
`ops/`. And no import cycle anywhere, counting function-local imports (which
hide cycles from the interpreter, not from this test).
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Mapping
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("schemas", "adapters", "gateway", "mocks")
FORBIDDEN = {
    "schemas": {"adapters", "gateway", "mocks"},
    "adapters": {"gateway", "mocks"},
    "mocks": {"adapters", "gateway"},
}
# Inside gateway/: a room (prefix) and the rooms it may not import.
ROOM_RULES: dict[str, set[str]] = {
    "gateway.http": {"gateway.security", "gateway.audit", "gateway.ops", "gateway.cli"},
    "gateway.security": {"gateway.audit", "gateway.ops", "gateway.cli"},
    "gateway.audit": {"gateway.security", "gateway.ops", "gateway.cli"},
    "gateway.ops": {"gateway.audit", "gateway.cli"},
    "gateway.bus": {"gateway.http", "gateway.security", "gateway.audit", "gateway.ops"},
    "gateway.app": {"gateway.cli"},
    "gateway.server": {"gateway.cli"},
}

# Rooms of gateway/ that may import every other room and that nothing else imports.
LEAVES = ("gateway.cli", "gateway.testing")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def project_modules() -> dict[str, Path]:
    return {
        module_name(path): path for package in PACKAGES for path in (ROOT / package).rglob("*.py")
    }


def imports_of(path: Path, known: Iterable[str]) -> set[str]:
    """The project modules a file imports, at module level or inside functions."""
    modules = set(known)
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names if alias.name in modules)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                child = f"{node.module}.{alias.name}"
                if child in modules:
                    found.add(child)  # `from gateway.http import health`: the module
                elif node.module in modules:
                    found.add(node.module)
    return found


def import_graph() -> dict[str, set[str]]:
    modules = project_modules()
    return {name: imports_of(path, modules) - {name} for name, path in modules.items()}


def find_cycle(graph: Mapping[str, set[str]]) -> list[str] | None:
    """One import cycle as a path that returns to its start, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)) is not None:
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)) is not None:
            return found
    return None


def _within(module: str, prefix: str) -> bool:
    return module == prefix or module.startswith(prefix + ".")


def room_violations(graph: Mapping[str, set[str]]) -> list[str]:
    out = []
    for module, imported in sorted(graph.items()):
        for room, forbidden in ROOM_RULES.items():
            if not _within(module, room):
                continue
            for target in sorted(imported):
                if any(_within(target, f) for f in forbidden):
                    out.append(f"{module} -> {target}")
        # cli/ and testing/ are leaves: they may import every room, no other module imports them.
        for leaf in LEAVES:
            if _within(module, "gateway") and not any(_within(module, x) for x in LEAVES):
                out += [f"{module} -> {t}" for t in sorted(imported) if _within(t, leaf)]
    return sorted(set(out))


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_what_it_may(package: str) -> None:
    graph = import_graph()
    offenders = {
        module: sorted({t.split(".")[0] for t in imported} & FORBIDDEN[package])
        for module, imported in graph.items()
        if module.split(".")[0] == package
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_rooms_of_the_gateway_import_only_what_they_may() -> None:
    assert room_violations(import_graph()) == []


def test_no_import_cycle_anywhere() -> None:
    assert find_cycle(import_graph()) is None


def test_the_checks_catch_a_wrong_arrow_and_a_hidden_cycle() -> None:
    """The rules are not vacuous: an arrow added the wrong way, or a function-local import
    that closes a circle, is reported."""
    graph = import_graph()
    # tokens.py imports nothing of the gateway (its settings model only)
    assert {m for m in graph["gateway.security.tokens"] if _within(m, "gateway")} == set()
    wrong = {**graph, "gateway.http.edge": graph["gateway.http.edge"] | {"gateway.ops.app"}}
    assert room_violations(wrong) == ["gateway.http.edge -> gateway.ops.app"]
    into_cli = {**graph, "gateway.bus": graph["gateway.bus"] | {"gateway.cli.main"}}
    assert "gateway.bus -> gateway.cli.main" in room_violations(into_cli)
    circle = {
        **graph,
        "gateway.security.tokens": {"gateway.security.clients"},
        "gateway.security.clients": graph["gateway.security.clients"] | {"gateway.security.tokens"},
    }
    cycle = find_cycle(circle)
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert {"gateway.security.tokens", "gateway.security.clients"} <= set(cycle)


def test_a_function_local_import_is_an_edge(tmp_path: Path) -> None:
    source = tmp_path / "m.py"
    source.write_text("def f() -> None:\n    from gateway.http import health\n")
    assert imports_of(source, {"gateway.http", "gateway.http.health"}) == {"gateway.http.health"}
