"""OAuth2 discovery for stock clients: RFC 8414 metadata and the token-verification keys.

`/.well-known/oauth-authorization-server` says where the token endpoint is and
how to authenticate to it; `/.well-known/jwks.json` publishes the Ed25519
public keys as OKP JWKs (RFC 8037): the signing key and every rotated key
still on the ring, i.e. every key a token still in its lifetime may carry.
Both are public: they hold no secret and no personal data.
"""

from __future__ import annotations

import base64

from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.security.authentication import AUTHENTICATOR
from gateway.security.tokens import ALGORITHM, SigningKeys
from schemas.discovery import AuthorizationServerMetadata, Jwk, JwkSet

METADATA_PATH = "/.well-known/oauth-authorization-server"
JWKS_PATH = "/.well-known/jwks.json"
# How long a client may cache the answers: short, so a rotated key is seen soon.
CACHE_CONTROL = "public, max-age=60"


def jwk(kid: str, key: Ed25519PublicKey) -> Jwk:
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    x = base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
    return Jwk(kty="OKP", crv="Ed25519", x=x, kid=kid, alg=ALGORITHM, use="sig")


def key_set(keys: SigningKeys) -> JwkSet:
    """Newest first: the key that signs today leads."""
    return JwkSet(
        keys=[jwk(kid, key) for kid, key in sorted(keys.public_keys().items(), reverse=True)]
    )


def metadata(origin: str, issuer: str) -> AuthorizationServerMetadata:
    return AuthorizationServerMetadata(
        issuer=issuer,
        token_endpoint=f"{origin}/token",
        jwks_uri=f"{origin}{JWKS_PATH}",
        grant_types_supported=["client_credentials"],
        token_endpoint_auth_methods_supported=[
            "client_secret_basic",
            "client_secret_post",
            "tls_client_auth",
        ],
        response_types_supported=[],
        scopes_supported=[],
        service_documentation=f"{origin}/docs",
    )


def _origin(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}"


async def authorization_server(request: web.Request) -> web.Response:
    body = metadata(_origin(request), request.app[AUTHENTICATOR].tokens.settings.issuer)
    return web.Response(
        body=body.model_dump_json(),
        content_type="application/json",
        headers={"Cache-Control": CACHE_CONTROL},
    )


async def jwks(request: web.Request) -> web.Response:
    return web.Response(
        body=key_set(request.app[AUTHENTICATOR].tokens.keys).model_dump_json(),
        content_type="application/json",
        headers={"Cache-Control": CACHE_CONTROL},
    )
