"""`POST /token`: OAuth2 client credentials (RFC 6749 §4.4), as the national platforms issue them.

A client authenticates with HTTP Basic or form parameters (or, over mTLS, its
certificate: RFC 8705) and gets a short-lived signed JWT. Every refusal looks
the same and costs the same, whichever client was named. Repeated failures per
client id and per address are throttled (gateway/security/token_throttle.py).
"""

from __future__ import annotations

import asyncio
import functools
import secrets

import structlog
from aiohttp import web

from gateway.http.state import CLAIMED_CLIENT_ID, CLIENT_ID, REQUEST_ID
from gateway.security.authentication import AUTHENTICATOR
from gateway.security.basic import basic_credentials
from gateway.security.clients import Client, ClientStore, check_secret, hash_secret
from gateway.security.tls import peer_fingerprint
from gateway.security.token_throttle import TOKEN_THROTTLE
from schemas.problems import PROBLEM_CONTENT_TYPE, Problem, ProblemType

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.auth")

FORM = "application/x-www-form-urlencoded"


@functools.cache
def _dummy_hash() -> str:
    """Checked against for unknown clients: a refusal costs the same whoever is named."""
    return hash_secret(secrets.token_urlsafe(16))


def oauth_error(
    request: web.Request,
    status: int,
    error: str,
    detail: str,
    headers: dict[str, str] | None = None,
) -> web.Response:
    """A problem document that is also an RFC 6749 §5.2 error (the `error` member)."""
    problem_type, title = {
        401: (ProblemType.UNAUTHORIZED, "Client authentication failed"),
        429: (ProblemType.RATE_LIMITED, "Too many failed client authentications"),
    }.get(status, (ProblemType.MALFORMED, "Invalid token request"))
    body = Problem(type=problem_type, title=title, status=status, detail=detail).model_dump()
    body["request_id"] = request.get(REQUEST_ID, "")
    body["error"] = error
    del body["errors"]
    response = web.json_response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    response.headers.update({"Cache-Control": "no-store", **(headers or {})})
    return response


async def authenticate_client(
    store: ClientStore,
    client_id: str,
    secret: str | None,
    certificate_client: Client | None,
) -> Client | None:
    client = store.get(client_id)
    if certificate_client is not None and secret is None:
        # RFC 8705 tls_client_auth: the verified certificate is the credential.
        return certificate_client if certificate_client.client_id == client_id else None
    if secret is None:
        return None
    stored = client.secret_hash if client is not None and client.secret_hash else _dummy_hash()
    ok = await asyncio.to_thread(check_secret, secret, stored)
    if not ok or client is None or client.revoked or not client.secret_hash:
        return None
    return client


async def token_endpoint(request: web.Request) -> web.Response:
    """Issue an access token to a client that authenticates (RFC 6749 §4.4)."""
    authenticator = request.app[AUTHENTICATOR]
    service, store = authenticator.tokens, authenticator.clients
    fingerprint = peer_fingerprint(request)
    cert_client = store.by_certificate(fingerprint) if fingerprint else None
    if request.content_type != FORM:
        return oauth_error(request, 400, "invalid_request", f"send the parameters as {FORM}")
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return oauth_error(
            request, 400, "unsupported_grant_type", "only client_credentials is supported"
        )
    basic = basic_credentials(request.headers.get("Authorization", ""))
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if basic is not None and form_secret is not None:
        return oauth_error(request, 400, "invalid_request", "use one client authentication method")
    secret: str | None
    if basic is not None:
        client_id, secret = basic
    else:
        client_id = form_id if isinstance(form_id, str) else ""
        secret = form_secret if isinstance(form_secret, str) else None
        if not client_id and cert_client is not None:
            client_id = cert_client.client_id
    if store.get(client_id) is not None:  # a configured id, never whatever was typed
        request[CLAIMED_CLIENT_ID] = client_id
    throttle = request.app.get(TOKEN_THROTTLE)
    wait = throttle.blocked_for(request, client_id) if throttle is not None else 0
    if wait:
        return oauth_error(
            request,
            429,
            "temporarily_unavailable",
            "too many failed client authentications for this client or from this address",
            {"Retry-After": str(wait)},
        )
    client = await authenticate_client(store, client_id, secret, cert_client)
    if client is None or client.revoked:
        if throttle is not None:
            throttle.failed_attempt(request, client_id)
        log.info("auth.token_refused")
        return oauth_error(
            request,
            401,
            "invalid_client",
            "client authentication failed",
            {"WWW-Authenticate": 'Basic realm="lgsp"'},
        )
    request[CLIENT_ID] = client.client_id
    token = service.issue(client.client_id)
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": service.settings.token_ttl,
    }
    return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
