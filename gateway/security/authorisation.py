"""What the caller may do: the `/v1` authorisation step, after authentication and the rate limit.

A client without a grant for the operation it names gets 403 before anything
is published. Unknown operations are the handler's 404, and the purpose trail
(422) is the handler's check too, after the access right. On the way out, the
field groups the client was not granted are removed from a success body.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from adapters.interface import Operation
from gateway.http.operations import resolve
from gateway.security.authentication import CLIENT
from gateway.security.rights import filter_fields, forbidden


@web.middleware
async def rights_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    client = request.get(CLIENT)
    if client is not None:
        resolved = resolve(request)
        if resolved is not None and not client.rights.allows(
            resolved.adapter, resolved.operation.name
        ):
            raise forbidden(resolved.adapter, resolved.operation.name)
    return await handler(request)


def response_filter(request: web.Request, operation: Operation[Any], payload: bytes) -> bytes:
    """Remove the field groups the client was not granted from a success body."""
    client = request.get(CLIENT)
    if client is None:  # not reachable through the middlewares; deny rather than disclose
        return b"{}"
    denied = client.rights.denied_paths(request.match_info["adapter"], operation)
    return filter_fields(payload, denied)
