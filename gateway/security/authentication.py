"""Who is calling: the `/v1` authentication step, and nothing else.

A `/v1` request must carry a valid bearer token of a client that is not
revoked (and, over a client-certificate connection, that certificate's
client's); otherwise 401 with one uniform body, whatever failed. The client is
put on the request for the steps after it: the rate limit
(gateway/security/ratelimit.py) and the access right
(gateway/security/rights.py). `/healthz`, `/readyz`, `/ops*`, `/metrics`,
`/token` and the docs are outside: operators have their own credential.
"""

from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler

from gateway.http.state import CLIENT_ID
from gateway.problems import ProblemError
from gateway.security.clients import Client, ClientStore
from gateway.security.tls import peer_fingerprint
from gateway.security.tokens import InvalidToken, TokenService
from schemas.problems import ProblemType

REALM = 'Bearer realm="lgsp"'
# The authenticated client of a /v1 request.
CLIENT = web.RequestKey("client", Client)


def is_client_call(path: str) -> bool:
    """The paths that need a client's token."""
    return path.startswith("/v1/") or path == "/v1"


def unauthorized(*, token_given: bool) -> ProblemError:
    # RFC 6750 §3: no error code when no credentials came; the body is the same either way.
    header = REALM + (', error="invalid_token"' if token_given else "")
    return ProblemError(
        401,
        ProblemType.UNAUTHORIZED,
        "Unauthorized",
        "a valid bearer access token is required; POST /token issues one",
        headers={"WWW-Authenticate": header},
    )


@dataclass(frozen=True, slots=True)
class Authenticator:
    """Tokens and clients; `mtls` when the gateway verifies client certificates (a client
    mapped to certificates must then present one of them)."""

    tokens: TokenService
    clients: ClientStore
    mtls: bool

    def authenticate(self, request: web.Request) -> Client:
        header = request.headers.get("Authorization")
        if header is None:
            raise unauthorized(token_given=False)
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise unauthorized(token_given=True)
        try:
            client_id = self.tokens.verify(token.strip())
        except InvalidToken:
            raise unauthorized(token_given=True) from None
        client = self.clients.get(client_id)
        if client is None or client.revoked:
            raise unauthorized(token_given=True)
        presented = peer_fingerprint(request)
        if presented is not None:
            # A token used over a client-certificate connection must be that certificate's.
            if presented not in client.certificates:
                raise unauthorized(token_given=True)
        elif self.mtls and client.certificates:
            raise unauthorized(token_given=True)
        return client


AUTHENTICATOR = web.AppKey("authenticator", Authenticator)


@web.middleware
async def authentication_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if is_client_call(request.path):
        client = request.app[AUTHENTICATOR].authenticate(request)
        request[CLIENT_ID] = client.client_id
        request[CLIENT] = client
    return await handler(request)
