"""Finding adapters: the `lgsp.adapters` entry-point group is the one source of truth.

The gateway builds routes, validation and OpenAPI from the registry; workers
build their consumers from it. A third-party package adds an adapter by
declaring an entry point, without touching this project.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from typing import Any

from adapters.interface import Adapter, Operation

ENTRY_POINT_GROUP = "lgsp.adapters"


class Registry:
    def __init__(self, adapters: Iterable[Adapter[Any]]) -> None:
        self._adapters: dict[str, Adapter[Any]] = {}
        for adapter in adapters:
            if adapter.name in self._adapters:
                raise ValueError(f"two adapters are named {adapter.name!r}")
            self._adapters[adapter.name] = adapter

    @classmethod
    def discover(cls) -> Registry:
        found: list[Adapter[Any]] = []
        for ep in entry_points(group=ENTRY_POINT_GROUP):
            adapter = ep.load()
            if not isinstance(adapter, Adapter):
                raise TypeError(f"entry point {ep.name!r} ({ep.value}) is not an Adapter")
            if adapter.name != ep.name:
                raise ValueError(f"entry point {ep.name!r} loads adapter named {adapter.name!r}")
            found.append(adapter)
        return cls(sorted(found, key=lambda a: a.name))

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
