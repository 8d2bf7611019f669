"""`lgsp new adapter NAME`: a separate, installable adapter package that works at once.

It writes `lgsp-NAME/` from the templates shipped in this package
(`gateway/cli/templates/adapter/`, package data): a pyproject with both entry
points (`lgsp.adapters`, `lgsp.mocks`), the adapter, its schemas, client and
wire format, a mock central system with its own fault switch, tests that
subclass the SDK's `AdapterContract` and call it end to end through the `lgsp`
pytest plugin's stack, and a README. After `pip install -e lgsp-NAME` its own
tests pass, and `lgsp init` then `lgsp dev` serve it. docs/adapters.md walks
through it; tests/integration/test_scaffold.py does the same, step by step.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from string import Template

from adapters.contract import NAME_RE
from adapters.errors import ConfigError

TEMPLATES = "templates/adapter"
SUFFIX = ".tmpl"
DEFAULT_PORT = 8710


@dataclass(frozen=True, slots=True)
class Names:
    name: str  # the adapter's name: URL segment, routing key, entry point ("land-registry")
    module: str  # the Python package ("lgsp_land_registry")
    title: str
    port: int

    @classmethod
    def of(cls, name: str, title: str | None, port: int) -> Names:
        if not NAME_RE.fullmatch(name):
            raise ConfigError(
                f"{name!r} is not an adapter name: lowercase words joined by hyphens "
                "(it is a URL segment and a routing key), e.g. land-registry"
            )
        if not 1024 <= port <= 65535:
            raise ConfigError(f"port {port} is outside 1024-65535")
        human = title or name.replace("-", " ").capitalize() + " central system"
        return cls(name, "lgsp_" + name.replace("-", "_"), human, port)


def _templates(root: Traversable, prefix: str = "") -> list[tuple[str, Traversable]]:
    found: list[tuple[str, Traversable]] = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        relative = f"{prefix}{entry.name}"
        if entry.is_dir():
            found += _templates(entry, relative + "/")
        elif entry.name.endswith(SUFFIX):
            found.append((relative.removesuffix(SUFFIX), entry))
    return found


def new_adapter(
    name: str, directory: Path, *, title: str | None = None, port: int = DEFAULT_PORT
) -> Path:
    """Write the package `directory/lgsp-<name>`; refuses to overwrite anything."""
    names = Names.of(name, title, port)
    target = directory / f"lgsp-{names.name}"
    if target.exists():
        raise ConfigError(f"{target} exists; choose another directory or remove it")
    values = {
        "name": names.name,
        "module": names.module,
        "title": names.title,
        "port": str(names.port),
    }
    for relative, template in _templates(files("gateway.cli").joinpath(TEMPLATES)):
        path = target / relative.replace("package/", f"{names.module}/", 1)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template.read_text(encoding="utf-8")).substitute(values))
    return target


def run_new(kind: str, name: str, directory: Path, title: str | None, port: int) -> int:
    if kind != "adapter":  # argparse only offers "adapter"; kept for future kinds
        raise ConfigError(f"cannot make a new {kind!r}")
    target = new_adapter(name, directory, title=title, port=port)
    print(f"wrote {target}: an adapter package for {name!r}. Next:")
    print(f"  pip install -e {target}        # beside lgsp-gateway")
    print(f"  (cd {target} && pytest)        # its contract, client and end-to-end tests")
    print("  lgsp init && lgsp dev          # configure it, serve it; the banner shows its call")
    return 0
