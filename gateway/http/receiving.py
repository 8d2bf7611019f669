"""A request's body must arrive within `gateway.body_timeout`: slow bodies are cut.

aiohttp bounds how long a connection may sit idle or send its headers (the
keep-alive timer, gateway/connections.py) but not how long a body may trickle
in once the headers are complete: a client sending one byte a second would hold
a connection and a handler for as long as it likes. This middleware, right
after the edge, reads every body first (aiohttp caches it for the handler,
`request.read()` and `request.post()` alike) within the bound; beyond it the
answer is 408 `request-timeout` and the connection is closed after it: the rest
of the body is not waited for, by the server (it does not linger,
gateway/connections.py) nor by a later reader on this request (the audit
trail's read fails at once instead of waiting for the trickle).
"""

from __future__ import annotations

import asyncio

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.http.operations import GATEWAY_SETTINGS
from gateway.problems import ProblemError
from schemas.problems import ProblemType


@web.middleware
async def body_deadline_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.body_exists:
        limit = request.config_dict[GATEWAY_SETTINGS].body_timeout
        try:
            async with asyncio.timeout(limit):
                await request.read()  # over client_max_size: aiohttp's 413, a problem at the edge
        except TimeoutError:
            request.content.set_exception(ConnectionResetError("the body did not arrive in time"))
            raise ProblemError(
                408,
                ProblemType.REQUEST_TIMEOUT,
                "Request body too slow",
                f"the whole body must arrive within {limit:g} s of the headers",
                headers={"Connection": "close"},
            ) from None
    return await handler(request)
