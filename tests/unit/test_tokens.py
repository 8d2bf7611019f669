"""Access tokens: issued and verified by the key ring; every forgery fails the same way."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from gateway.security.basic import basic_credentials
from gateway.security.keys import KeyRing
from gateway.security.tokens import InvalidToken, TokenService
from schemas.security import AuthSettings


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unsigned(header: dict[str, Any], claims: dict[str, Any], signature: bytes = b"") -> str:
    return ".".join(
        [b64(json.dumps(header).encode()), b64(json.dumps(claims).encode()), b64(signature)]
    )


def hs256(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    head = b64(json.dumps(header).encode()) + "." + b64(json.dumps(claims).encode())
    return head + "." + b64(hmac.new(secret, head.encode(), hashlib.sha256).digest())


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    keys = KeyRing(tmp_path / "keys", reload_interval=0)
    keys.ensure()
    return keys


@pytest.fixture
def service(tmp_path: Path, ring: KeyRing) -> TokenService:
    return TokenService(AuthSettings(keys_dir=tmp_path / "keys", token_ttl=60), ring)


def claims(service: TokenService, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": service.settings.issuer,
        "aud": service.settings.audience,
        "sub": "one-stop",
        "client_id": "one-stop",
        "iat": now,
        "nbf": now,
        "exp": now + 60,
    }
    base.update(changes)
    return {k: v for k, v in base.items() if v is not None}


def forgeries(service: TokenService) -> dict[str, str]:
    """Every way a token must be refused, each built here from scratch."""
    kid, key = service.keys.signing_key()
    public_pem = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_raw = key.public_key().public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    good = claims(service)
    now = int(time.time())
    stranger = Ed25519PrivateKey.generate()

    def signed(c: dict[str, Any], signing_key: Any = key, kid_: str = kid) -> str:
        return jwt.encode(c, signing_key, algorithm="EdDSA", headers={"kid": kid_})

    return {
        "expired": signed(claims(service, iat=now - 600, nbf=now - 600, exp=now - 300)),
        "not yet valid": signed(claims(service, nbf=now + 600, exp=now + 900)),
        "issued in the future": signed(claims(service, iat=now + 600, exp=now + 900)),
        "wrong issuer": signed(claims(service, iss="https://evil.example")),
        "wrong audience": signed(claims(service, aud="another-api")),
        "no expiry": signed(claims(service, exp=None)),
        "no subject": signed(claims(service, sub=None, client_id=None)),
        "client_id differs from sub": signed(claims(service, client_id="someone-else")),
        "alg none": unsigned({"alg": "none", "kid": kid, "typ": "JWT"}, good),
        "alg none, lower-case signature": unsigned({"alg": "None", "kid": kid}, good, b"x"),
        "HS256 with a guessed secret": hs256({"alg": "HS256", "kid": kid}, good, b"secret"),
        "key confusion (HS256 keyed with the PEM public key)": hs256(
            {"alg": "HS256", "kid": kid}, good, public_pem
        ),
        "key confusion (HS256 keyed with the raw public key)": hs256(
            {"alg": "HS256", "kid": kid}, good, public_raw
        ),
        "forged: a foreign key under our kid": signed(good, stranger),
        "unknown kid": signed(good, stranger, "20990101T000000000000Z-abcdef"),
        "no kid": jwt.encode(good, key, algorithm="EdDSA"),
        "tampered claims": signed(good).rsplit(".", 2)[0]
        + "."
        + b64(json.dumps({**good, "sub": "admin", "client_id": "admin"}).encode())
        + "."
        + signed(good).rsplit(".", 1)[1],
        "malformed: not a JWT": "not-a-token",
        "malformed: three dots of garbage": "a.b.c",
        "malformed: empty segments": "..",
    }


def test_a_token_issued_verifies_to_its_client(service: TokenService) -> None:
    token = service.issue("one-stop")
    header = jwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    assert header["kid"] == service.keys.signing_key()[0]
    assert service.verify(token) == "one-stop"


def test_every_forgery_is_refused(service: TokenService) -> None:
    accepted = []
    for name, token in forgeries(service).items():
        try:
            service.verify(token)
        except InvalidToken:
            continue
        accepted.append(name)
    assert accepted == []


def test_rotation_keeps_old_tokens_valid_and_signs_with_the_new_key(
    service: TokenService, ring: KeyRing
) -> None:
    old_kid = service.keys.signing_key()[0]
    old_token = service.issue("one-stop")
    new_kid = ring.rotate(token_ttl=service.settings.token_ttl)
    assert new_kid != old_kid
    assert service.verify(old_token) == "one-stop"
    assert jwt.get_unverified_header(service.issue("one-stop"))["kid"] == new_kid


def test_rotation_removes_keys_no_live_token_can_need(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path, reload_interval=0)
    ring.ensure()
    # Back-date the first key and its successor: tokens of the first expired long ago.
    (first,) = tmp_path.glob("*.pem")
    first.rename(tmp_path / "20000101T000000000000Z-aaaaaa.pem")
    second = tmp_path / f"{ring.rotate(token_ttl=60)}.pem"
    second.rename(tmp_path / "20000102T000000000000Z-bbbbbb.pem")
    newest = ring.rotate(token_ttl=60)
    remaining = sorted(p.stem for p in tmp_path.glob("*.pem"))
    # The second stays: tokens it signed live until `token_ttl` after the newest appeared.
    assert remaining == ["20000102T000000000000Z-bbbbbb", newest]


def test_a_second_process_sees_a_rotated_key(service: TokenService, tmp_path: Path) -> None:
    other = KeyRing(tmp_path / "keys", reload_interval=0)
    other.ensure()
    new_kid = other.rotate(token_ttl=60)
    token = TokenService(service.settings, other).issue("one-stop")
    assert jwt.get_unverified_header(token)["kid"] == new_kid
    assert service.verify(token) == "one-stop"


def test_key_files_are_private(ring: KeyRing) -> None:
    assert list(ring.keys_dir.glob("*.pem"))
    for path in ring.keys_dir.glob("*.pem"):
        assert path.stat().st_mode & 0o077 == 0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("Basic " + base64.b64encode(b"one-stop:s3cr%3At").decode(), ("one-stop", "s3cr:t")),
        ("basic " + base64.b64encode(b"a:b").decode(), ("a", "b")),
        ("Basic " + base64.b64encode(b"no-colon").decode(), None),
        ("Basic !!!", None),
        ("Bearer abc", None),
        ("", None),
    ],
)
def test_basic_credentials_are_form_decoded(header: str, expected: tuple[str, str] | None) -> None:
    assert basic_credentials(header) == expected
