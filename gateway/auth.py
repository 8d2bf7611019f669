"""Who is calling and what they may do: the `/v1` middleware, `POST /token`, `GET /v1/services`.

For every `/v1` request, in this order: a valid bearer token of a client that
is not revoked (401, one uniform body whatever failed), the client's rate
limit (429) and its access right to the operation (403), all before anything
is published on the bus (the purpose trail, 422, is the operation handler's
check: gateway/purpose.py). `/healthz`, `/readyz`, `/ops*`, `/metrics` and the docs are outside:
operators have their own credential.

`install(app, settings)` wires the feature into an app: routes, the
middleware, the response filter, the audit observer, and the masking of
problem documents.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from pydantic import BaseModel

from adapters.interface import Operation
from adapters.logs import mask_text
from gateway.access import filter_fields, forbidden
from gateway.audit import AuditPublisher
from gateway.clients import Client, ClientStore
from gateway.edge import OBSERVERS
from gateway.operations import REGISTRY, RESPONSE_FILTER
from gateway.problems import ProblemError
from gateway.ratelimit import RateLimiter
from gateway.state import CLIENT_ID
from gateway.tls import peer_fingerprint
from gateway.tokens import InvalidToken, KeyRing, TokenService, token_endpoint
from schemas.config import Settings, config_path
from schemas.problems import PROBLEM_CONTENT_TYPE, ProblemType

CLIENTS = web.AppKey("clients", ClientStore)
TOKENS = web.AppKey("tokens", TokenService)
RATE_LIMITER = web.AppKey("rate_limiter", RateLimiter)
AUDIT = web.AppKey("audit", AuditPublisher)
# True when the gateway verifies client certificates: a client mapped to certificates must
# then present one of them.
MTLS = web.AppKey("mtls", bool)
# The authenticated client of a /v1 request.
CLIENT = web.RequestKey("client", Client)

REALM = 'Bearer realm="lgsp"'


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


def authenticate(request: web.Request) -> Client:
    app = request.app
    header = request.headers.get("Authorization")
    if header is None:
        raise unauthorized(token_given=False)
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise unauthorized(token_given=True)
    try:
        client_id = app[TOKENS].verify(token.strip())
    except InvalidToken:
        raise unauthorized(token_given=True) from None
    store = app[CLIENTS]
    client = store.get(client_id)
    if client is None or client.revoked:
        raise unauthorized(token_given=True)
    presented = peer_fingerprint(request)
    mtls = app[MTLS]
    if presented is not None:
        # A token used over a client-certificate connection must be that certificate's client's.
        if presented not in client.certificates:
            raise unauthorized(token_given=True)
    elif mtls and client.certificates:
        raise unauthorized(token_given=True)
    return client


@web.middleware
async def auth_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    if not (request.path.startswith("/v1/") or request.path == "/v1"):
        return await handler(request)
    client = authenticate(request)
    request[CLIENT_ID] = client.client_id
    request[CLIENT] = client
    request.app[RATE_LIMITER].check(client.client_id, client.rate_limit)
    adapter = request.match_info.get("adapter")
    name = request.match_info.get("operation")
    if adapter is not None and name is not None:
        operation = request.app[REGISTRY].operation(adapter, name)
        # Unknown operations are the handler's 404; the purpose trail (422) is checked by the
        # handler too (gateway/purpose.py), after the access right.
        if operation is not None and not client.rights.allows(adapter, name):
            raise forbidden(adapter, name)
    return await handler(request)


async def token(request: web.Request) -> web.Response:
    fingerprint = peer_fingerprint(request)
    store = request.app[CLIENTS]
    cert_client = store.by_certificate(fingerprint) if fingerprint else None
    return await token_endpoint(request, request.app[TOKENS], store, cert_client)


@functools.cache
def _schema(model: type[BaseModel]) -> dict[str, Any]:
    return model.model_json_schema()


async def services(request: web.Request) -> web.Response:
    """The operations this client may call, with their schemas (X-Road's allowedMethods)."""
    client = request[CLIENT]
    listed = []
    for adapter in request.app[REGISTRY]:
        for operation in adapter.operations.values():
            if not client.rights.allows(adapter.name, operation.name):
                continue
            granted = client.rights.groups(adapter.name, operation.name)
            groups = sorted(operation.field_groups)
            visible = groups if "*" in granted else [g for g in groups if g in granted]
            listed.append(
                {
                    "adapter": adapter.name,
                    "operation": operation.name,
                    "path": f"/v1/{adapter.name}/{operation.name}",
                    "summary": operation.summary,
                    "personal_data": operation.personal_data,
                    "write": operation.write,
                    "field_groups": {
                        "granted": visible,
                        "withheld": [g for g in groups if g not in visible],
                    },
                    "request_schema": _schema(operation.request_model),
                    "response_schema": _schema(operation.response_model),
                }
            )
    return web.json_response({"client_id": client.client_id, "services": listed})


def response_filter(request: web.Request, operation: Operation[Any], payload: bytes) -> bytes:
    client = request.get(CLIENT)
    if client is None:  # not reachable through the middleware; deny rather than disclose
        return b"{}"
    denied = client.rights.denied_paths(request.match_info["adapter"], operation)
    return filter_fields(payload, denied)


async def mask_problem_documents(
    _request: web.Request, response: web.StreamResponse, _duration: float
) -> web.StreamResponse | None:
    """Error documents never carry a personal identifier, whichever hop wrote them."""
    if response.content_type != PROBLEM_CONTENT_TYPE or not isinstance(response, web.Response):
        return None
    raw = response.text  # bytes or a string payload alike
    if raw is None:
        return None
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return None
    for key in ("title", "detail"):
        if isinstance(document.get(key), str):
            document[key] = mask_text(document[key])
    for error in document.get("errors") or ():
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            error["message"] = mask_text(error["message"])
    masked = orjson.dumps(document)
    if masked != raw.encode():
        response.body = masked
    return None


def install(app: web.Application, settings: Settings) -> None:
    keys = KeyRing(settings.auth.keys_dir, settings.auth.reload_interval)
    keys.ensure()
    config_file = config_path()
    app[TOKENS] = TokenService(settings.auth, keys)
    app[CLIENTS] = ClientStore(settings.auth, config_file if config_file.exists() else None)
    app[RATE_LIMITER] = RateLimiter()
    app[MTLS] = settings.tls.client_ca_file is not None
    app[AUDIT] = audit = AuditPublisher(settings.audit)
    app[RESPONSE_FILTER] = response_filter
    app[OBSERVERS].extend([mask_problem_documents, audit.observe])
    app.cleanup_ctx.append(audit.lifecycle)
    app.middlewares.append(auth_middleware)
    app.router.add_post("/token", token)
    app.router.add_get("/v1/services", services)
