"""Maintenance mode: a flag file that makes `/readyz` answer 503, so load balancers drain the node.

A file, not process state: `lgsp maintenance on` and `PUT /ops/maintenance`
reach every gateway process on the machine at once, survive restarts, and need
no connection to a running process. Traffic already routed to the node is still
served; only readiness changes.
"""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiohttp import web

from gateway.http.health import ReadinessCheck


def status(path: Path) -> dict[str, Any]:
    """`{"maintenance": bool, "since": iso | None, "reason": str | None}`."""
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return {"maintenance": False, "since": None, "reason": None}
    info: dict[str, Any] = {"since": None, "reason": None}
    with contextlib.suppress(ValueError):
        loaded = json.loads(raw)
        if isinstance(loaded, dict):
            info.update({k: loaded.get(k) for k in ("since", "reason")})
    return {"maintenance": True, **info}


def switch(path: Path, on: bool, reason: str = "") -> dict[str, Any]:
    if on:
        path.parent.mkdir(parents=True, exist_ok=True)
        since = datetime.now(UTC).isoformat(timespec="seconds")
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps({"since": since, "reason": reason[:200]}))
        tmp.replace(path)
    else:
        path.unlink(missing_ok=True)
    return status(path)


def readiness_check(path: Path) -> ReadinessCheck:
    """A `READINESS_CHECKS` entry: a stat per /readyz call, cheap enough for any probe rate."""

    def check(_app: web.Application) -> tuple[bool, str]:
        if path.exists():
            return False, "maintenance mode (lgsp maintenance off ends it)"
        return True, "ok"

    return check
