"""Finding adapters: the `lgsp.adapters` entry-point group is the one source of truth.

The gateway builds routes, validation and OpenAPI from the registry; workers
build their consumers from it. A third-party package adds an adapter by
declaring an entry point, without touching this project. Installed is not
served: the gateway, `lgsp dev` and `lgsp worker` take only the adapters the
configuration names (`Registry.configured`); `lgsp init` adds the section of
an adapter installed after the configuration was written.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from typing import Any

from adapters.interface import Adapter, Operation
from schemas.config import Settings

ENTRY_POINT_GROUP = "lgsp.adapters"


class Registry:
    def __init__(self, adapters: Iterable[Adapter[Any]]) -> None:
        self._adapters: dict[str, Adapter[Any]] = {}
        for adapter in adapters:
            if adapter.name in self._adapters:
                raise ValueError(f"two adapters are named {adapter.name!r}")
            self._adapters[adapter.name] = adapter

    @classmethod
    def discover(cls, only: Iterable[str] | None = None) -> Registry:
        """Every installed adapter, or those named in `only` (unknown names are ignored)."""
        wanted = None if only is None else set(only)
        found: list[Adapter[Any]] = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            if wanted is not None and ep.name not in wanted:
                continue
            adapter = ep.load()
            if not isinstance(adapter, Adapter):
                raise TypeError(f"entry point {ep.name!r} ({ep.value}) is not an Adapter")
            if adapter.name != ep.name:
                raise ValueError(f"entry point {ep.name!r} loads adapter named {adapter.name!r}")
            found.append(adapter)
        return cls(sorted(found, key=lambda a: a.name))

    def limited_to(self, names: Iterable[str]) -> Registry:
        """The same adapters, only those named (a gateway serves the configured ones)."""
        wanted = set(names)
        return Registry(a for a in self._adapters.values() if a.name in wanted)

    def configured(self, settings: Settings) -> tuple[Registry, list[str]]:
        """The adapters the settings configure (an `[adapters.<name>]` section), and the names
        of those installed but not configured: those are not served, routed or given a worker,
        so an adapter package installed without its configuration breaks nothing else."""
        served = [name for name in self._adapters if name in settings.adapters]
        return self.limited_to(served), [n for n in self._adapters if n not in served]

    def __iter__(self) -> Iterator[Adapter[Any]]:
        return iter(self._adapters.values())

    def __len__(self) -> int:
        return len(self._adapters)

    @property
    def names(self) -> list[str]:
        return list(self._adapters)

    def adapter(self, name: str) -> Adapter[Any] | None:
        return self._adapters.get(name)

    def operation(self, adapter: str, operation: str) -> Operation[Any] | None:
        found = self._adapters.get(adapter)
        return found.operations.get(operation) if found else None


def installed_by(distribution: str) -> list[str]:
    """The names of the adapters a distribution (e.g. `lgsp-gateway`) registers."""
    return sorted(
        ep.name
        for ep in entry_points(group=ENTRY_POINT_GROUP)
        if ep.dist is not None and ep.dist.name == distribution
    )
