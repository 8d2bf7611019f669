"""What the gateway keeps on a request while handling it: typed keys, one place.

aiohttp wants `web.RequestKey`s rather than strings; every room that puts
something on a request (the edge, security, operations, audit, metrics) uses
these, so none of them needs to import another to read what it set.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiohttp import web

from adapters.interface import Operation, Purpose


@dataclass(frozen=True, slots=True)
class Resolved:
    """The operation a `/v1/{adapter}/{operation}` request names, looked up once."""

    adapter: str
    operation: Operation[Any]

    @property
    def key(self) -> str:
        return f"{self.adapter}/{self.operation.name}"


REQUEST_ID = web.RequestKey("request_id", str)
CLIENT_ID = web.RequestKey("client_id", str)
# The client id a token request named, authenticated or not (the audit record shows it).
CLAIMED_CLIENT_ID = web.RequestKey("claimed_client_id", str)
# None: the request names no known operation (or is not an operation call).
OPERATION: web.RequestKey[Resolved | None] = web.RequestKey("operation")
PURPOSE: web.RequestKey[Purpose | None] = web.RequestKey("purpose")
SUBJECT: web.RequestKey[str | None] = web.RequestKey("subject")
BUS_SECONDS = web.RequestKey("bus_seconds", float)
