"""Signed access tokens: the key ring, issuing and verifying JWTs, and `POST /token`.

Tokens are RFC 9068-style JWTs signed with Ed25519 (`alg: EdDSA`), the key id
in the header. Keys are PEM files in `auth.keys_dir`, one per key id; the
newest signs, every one still present verifies, so `lgsp keys rotate` never
cuts off a token before it expires. Verification accepts exactly one
algorithm and only known key ids: `alg: none`, HMAC with the public key as
secret (key confusion) and foreign keys all fail the same way.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import itertools
import secrets
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import structlog
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.clients import Client, ClientStore, check_secret, hash_secret
from gateway.state import CLIENT_ID, REQUEST_ID
from schemas.problems import PROBLEM_CONTENT_TYPE, Problem, ProblemType
from schemas.security import AuthSettings

log = structlog.get_logger("lgsp.auth")

# The client id a token request named, authenticated or not (the audit record shows it).
CLAIMED_CLIENT_ID = web.RequestKey("claimed_client_id", str)

ALGORITHM = "EdDSA"
KID_FORMAT = "%Y%m%dT%H%M%S%fZ"  # sortable: the newest key sorts last
CLOCK_SKEW = 5  # seconds of leeway between gateway hosts' clocks


class InvalidToken(Exception):
    """Any reason a bearer token is not accepted; the caller never learns which."""


def _new_kid() -> str:
    return f"{datetime.now(UTC).strftime(KID_FORMAT)}-{secrets.token_hex(3)}"


def _kid_time(kid: str) -> float:
    try:
        return datetime.strptime(kid.split("-")[0], KID_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return 0.0


class KeyRing:
    """Ed25519 keys on disk, loaded once and re-scanned when the directory changes."""

    def __init__(self, keys_dir: Path, reload_interval: float = 2.0) -> None:
        self.keys_dir = keys_dir
        self._interval = reload_interval
        self._private: dict[str, Ed25519PrivateKey] = {}
        self._public: dict[str, Ed25519PublicKey] = {}
        self._mtime: float | None = None
        self._checked = 0.0

    def ensure(self) -> None:
        """Load the keys, generating the first one when there is none (a fresh install)."""
        self.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        self._scan()
        if not self._private:
            self.rotate(token_ttl=0)

    def rotate(self, token_ttl: int) -> str:
        """Add a new signing key; drop keys whose successor is older than a token's lifetime."""
        self.keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        kid = _new_kid()
        pem = Ed25519PrivateKey.generate().private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        tmp = self.keys_dir / f".{kid}.tmp"
        tmp.write_bytes(pem)
        tmp.chmod(0o600)
        tmp.replace(self.keys_dir / f"{kid}.pem")
        kids = sorted(p.stem for p in self.keys_dir.glob("*.pem"))
        now = time.time()
        for older, successor in itertools.pairwise(kids):
            # Tokens signed with `older` stopped being issued when `successor` appeared.
            if _kid_time(successor) + token_ttl + CLOCK_SKEW + self._interval < now:
                (self.keys_dir / f"{older}.pem").unlink(missing_ok=True)
        self._scan()
        return kid

    def _scan(self) -> None:
        try:
            self._mtime = self.keys_dir.stat().st_mtime
        except OSError:
            self._mtime = None
        private: dict[str, Ed25519PrivateKey] = {}
        for path in sorted(self.keys_dir.glob("*.pem")):
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
            if isinstance(key, Ed25519PrivateKey):
                private[path.stem] = key
        self._private = private
        self._public = {kid: key.public_key() for kid, key in private.items()}

    def _maybe_rescan(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self._interval:
            return
        self._checked = now
        try:
            mtime: float | None = self.keys_dir.stat().st_mtime
        except OSError:
            mtime = None
        if mtime != self._mtime:
            self._scan()

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]:
        self._maybe_rescan()
        kid = max(self._private)
        return kid, self._private[kid]

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        self._maybe_rescan()
        return self._public.get(kid)

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        self._maybe_rescan()
        return dict(self._public)


# Verified tokens are remembered until they expire: a client sends the same token many times,
# and an Ed25519 verification costs far more than a dict look-up. Bounded; cleared when full.
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class TokenService:
    settings: AuthSettings
    keys: KeyRing
    _verified: dict[str, tuple[str, float]] = field(default_factory=dict, compare=False)

    def issue(self, client_id: str, now: float | None = None) -> str:
        kid, key = self.keys.signing_key()
        issued = int(now if now is not None else time.time())
        claims = {
            "iss": self.settings.issuer,
            "aud": self.settings.audience,
            "sub": client_id,
            "client_id": client_id,
            "iat": issued,
            "nbf": issued,
            "exp": issued + self.settings.token_ttl,
            "jti": secrets.token_hex(16),
        }
        return jwt.encode(claims, key, algorithm=ALGORITHM, headers={"kid": kid, "typ": "at+jwt"})

    def verify(self, token: str) -> str:
        """The client id a valid token was issued to; `InvalidToken` for any failure."""
        known = self._verified.get(token)
        if known is not None:
            subject, expires = known
            if time.time() < expires + CLOCK_SKEW:
                return subject
            del self._verified[token]
        if len(self._verified) >= VERIFIED_CACHE_SIZE:
            self._verified.clear()
        return self._verify_signed(token)

    def _verify_signed(self, token: str) -> str:
        try:
            header = jwt.get_unverified_header(token)
            kid = header.get("kid")
            if header.get("alg") != ALGORITHM or not isinstance(kid, str):
                raise InvalidToken
            key = self.keys.public_key(kid)
            if key is None:
                raise InvalidToken
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=CLOCK_SKEW,
                options={"require": ["exp", "iat", "nbf", "iss", "aud", "sub"]},
            )
        except jwt.PyJWTError:
            raise InvalidToken from None
        subject = claims["sub"]
        if not isinstance(subject, str) or claims.get("client_id", subject) != subject:
            raise InvalidToken
        self._verified[token] = (subject, float(claims["exp"]))
        return subject


# -- POST /token (RFC 6749 §4.4, client credentials) ---------------------------------------------

FORM = "application/x-www-form-urlencoded"


@functools.cache
def _dummy_hash() -> str:
    """Checked against for unknown clients: a refusal costs the same whoever is named."""
    return hash_secret(secrets.token_urlsafe(16))


def oauth_error(
    status: int,
    error: str,
    detail: str,
    headers: dict[str, str] | None = None,
    *,
    request_id: str = "",
) -> web.Response:
    """A problem document that is also an RFC 6749 §5.2 error (the `error` member)."""
    problem_type = ProblemType.UNAUTHORIZED if status == 401 else ProblemType.MALFORMED
    title = "Client authentication failed" if status == 401 else "Invalid token request"
    body = Problem(
        type=problem_type, title=title, status=status, detail=detail, request_id=request_id
    ).model_dump()
    body["error"] = error
    del body["errors"]
    response = web.json_response(body, status=status, content_type=PROBLEM_CONTENT_TYPE)
    response.headers.update({"Cache-Control": "no-store", **(headers or {})})
    return response


def basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    user, sep, password = decoded.partition(":")
    if not sep:
        return None
    # RFC 6749 §2.3.1: both parts are form-urlencoded before Basic encoding.
    return urllib.parse.unquote_plus(user), urllib.parse.unquote_plus(password)


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


async def token_endpoint(
    request: web.Request, service: TokenService, store: ClientStore, cert_client: Client | None
) -> web.Response:
    rid = request.get(REQUEST_ID, "")
    if request.content_type != FORM:
        return oauth_error(400, "invalid_request", f"send the parameters as {FORM}", request_id=rid)
    form = await request.post()
    if form.get("grant_type") != "client_credentials":
        return oauth_error(
            400, "unsupported_grant_type", "only client_credentials is supported", request_id=rid
        )
    basic = basic_credentials(request.headers.get("Authorization", ""))
    form_id, form_secret = form.get("client_id"), form.get("client_secret")
    if basic is not None and form_secret is not None:
        return oauth_error(
            400, "invalid_request", "use one client authentication method", request_id=rid
        )
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
    client = await authenticate_client(store, client_id, secret, cert_client)
    if client is None or client.revoked:
        log.info("auth.token_refused")
        return oauth_error(
            401,
            "invalid_client",
            "client authentication failed",
            {"WWW-Authenticate": 'Basic realm="lgsp"'},
            request_id=rid,
        )
    request[CLIENT_ID] = client.client_id
    token = service.issue(client.client_id)
    body = {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": service.settings.token_ttl,
    }
    return web.json_response(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})
