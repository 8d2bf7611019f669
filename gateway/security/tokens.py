"""Signed access tokens: issuing and verifying JWTs. Nothing else of the gateway is imported.

Tokens are RFC 9068-style JWTs signed with Ed25519 (`alg: EdDSA`), the key id
in the header; the keys come from a `SigningKeys` (the key ring on disk,
gateway/security/keys.py). Verification accepts exactly one algorithm and only
known key ids: `alg: none`, HMAC with the public key as secret (key
confusion) and foreign keys all fail the same way. A validly signed token
whose lifetime (`exp - iat`) exceeds `auth.max_token_lifetime` (by default
`token_ttl`) fails the same way too: a signing key that leaks cannot mint a
token good for ten years.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from schemas.security import AuthSettings

ALGORITHM = "EdDSA"
CLOCK_SKEW = 5  # seconds of leeway between gateway hosts' clocks


class InvalidToken(Exception):
    """Any reason a bearer token is not accepted; the caller never learns which."""


class SigningKeys(Protocol):
    """Where tokens' keys come from: the newest signs, any known one verifies."""

    def signing_key(self) -> tuple[str, Ed25519PrivateKey]: ...

    def public_key(self, kid: str) -> Ed25519PublicKey | None: ...

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        """Every key that still verifies, by key id (published at /.well-known/jwks.json)."""
        ...


# Verified tokens are remembered until they expire: a client sends the same token many times,
# and an Ed25519 verification costs far more than a dict look-up. Bounded; cleared when full.
VERIFIED_CACHE_SIZE = 10_000


@dataclass(frozen=True, slots=True)
class TokenService:
    settings: AuthSettings
    keys: SigningKeys
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
        subject, issued, expires = claims["sub"], claims["iat"], claims["exp"]
        if not isinstance(subject, str) or claims.get("client_id", subject) != subject:
            raise InvalidToken
        if not isinstance(issued, (int, float)) or not isinstance(expires, (int, float)):
            raise InvalidToken
        if expires - issued > self.settings.token_lifetime_limit + CLOCK_SKEW:
            raise InvalidToken
        if issued > time.time() + CLOCK_SKEW:  # issued in the future: its lifetime is a lie
            raise InvalidToken
        self._verified[token] = (subject, float(claims["exp"]))
        return subject
