"""What the gateway keeps on a request while handling it: typed keys, one place.

aiohttp wants `web.RequestKey`s rather than strings; every feature that puts
something on a request (the edge, auth, operations, audit, metrics) uses these.
"""

from __future__ import annotations

from aiohttp import web

from adapters.interface import Purpose

REQUEST_ID = web.RequestKey("request_id", str)
CLIENT_ID = web.RequestKey("client_id", str)
PURPOSE: web.RequestKey[Purpose | None] = web.RequestKey("purpose")
SUBJECT: web.RequestKey[str | None] = web.RequestKey("subject")
BUS_SECONDS = web.RequestKey("bus_seconds", float)
