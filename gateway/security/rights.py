"""Access rights, deny by default: which operations a client may call, which fields it may see.

The step that applies them to requests is gateway/security/authorisation.py.

Grants (schemas/security.py) are compiled once per client into `Rights`; the
fields a client may not see for an operation are computed once per
(client, operation) and cached, so the hot path is two dictionary look-ups.
Field groups name top-level response fields or dotted paths into nested
objects (`citizen.ethnicity`); a field outside every group is always visible.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson

from adapters.interface import Operation
from gateway.problems import ProblemError
from schemas.problems import ProblemType
from schemas.security import GRANT_RE

ALL = "*"


@dataclass(frozen=True, slots=True)
class Rights:
    """Compiled grants: (adapter, operation) patterns -> granted field groups (`*` for all)."""

    grants: dict[tuple[str, str], frozenset[str]]
    _denied: dict[tuple[str, str], tuple[tuple[str, ...], ...]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @classmethod
    def parse(cls, grants: Iterable[str]) -> Rights:
        compiled: dict[tuple[str, str], set[str]] = {}
        for grant in grants:
            match = GRANT_RE.fullmatch(grant)
            if match is None:
                raise ValueError(f"grant {grant!r} is not adapter/operation[#field-group]")
            groups = compiled.setdefault((match["adapter"], match["operation"]), set())
            if match["group"]:
                groups.add(match["group"])
        return cls({key: frozenset(groups) for key, groups in compiled.items()})

    def _matching(self, adapter: str, operation: str) -> list[frozenset[str]]:
        found = []
        for key in ((adapter, operation), (adapter, ALL), (ALL, operation), (ALL, ALL)):
            groups = self.grants.get(key)
            if groups is not None:
                found.append(groups)
        return found

    def allows(self, adapter: str, operation: str) -> bool:
        return bool(self._matching(adapter, operation))

    def groups(self, adapter: str, operation: str) -> frozenset[str]:
        granted: set[str] = set()
        for groups in self._matching(adapter, operation):
            granted |= groups
        return frozenset(granted)

    def denied_paths(self, adapter: str, operation: Operation[Any]) -> tuple[tuple[str, ...], ...]:
        """The response paths this client may not see (cached per operation)."""
        key = (adapter, operation.name)
        cached = self._denied.get(key)
        if cached is None:
            granted = self.groups(adapter, operation.name)
            paths: set[tuple[str, ...]] = set()
            if ALL not in granted:
                for group, fields in operation.field_groups.items():
                    if group not in granted:
                        paths.update(tuple(f.split(".")) for f in fields)
            cached = self._denied[key] = tuple(sorted(paths))
        return cached


def _remove(document: Any, path: tuple[str, ...]) -> None:
    if isinstance(document, list):
        for item in document:
            _remove(item, path)
    elif isinstance(document, dict):
        if len(path) == 1:
            document.pop(path[0], None)
        elif path[0] in document:
            _remove(document[path[0]], path[1:])


def filter_fields(payload: bytes, denied: tuple[tuple[str, ...], ...]) -> bytes:
    """Remove the denied paths from a JSON answer (lists along a path are walked)."""
    if not denied:
        return payload
    document = orjson.loads(payload)
    for path in denied:
        _remove(document, path)
    return orjson.dumps(document)


def forbidden(adapter: str, operation: str) -> ProblemError:
    return ProblemError(
        403,
        ProblemType.FORBIDDEN,
        "Forbidden",
        f"this client has no access right to {adapter}/{operation}; GET /v1/services lists yours",
    )
