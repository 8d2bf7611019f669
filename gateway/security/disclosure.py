"""What the audit record says about the client of a call: who it is registered as, whether its
accesses are confidential until a date, and which field groups an answer disclosed.

The audit room may not import this one (tests/unit/test_layering.py), so the
gateway hands `client_facts` to the audit publisher (gateway/app.py).
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.interface import Operation
from gateway.security.authentication import CLIENT

# The response's fields outside every field group: always part of a disclosure.
BASE_GROUP = "base"


def client_facts(request: web.Request, disclosed: Operation[Any] | None) -> dict[str, str | None]:
    """`client_title`, `disclose_after` and, when `disclosed` is the personal-data operation
    whose answer went out, `disclosed`: `base` plus the field groups the client was granted."""
    client = request.get(CLIENT)
    if client is None:
        return {}
    facts: dict[str, str | None] = {
        "client_title": client.title or None,
        "disclose_after": client.disclose_after,
    }
    if disclosed is not None:
        granted = client.rights.groups(request.match_info["adapter"], disclosed.name)
        groups = [g for g in sorted(disclosed.field_groups) if "*" in granted or g in granted]
        facts["disclosed"] = ",".join([BASE_GROUP, *groups])
    return facts
