"""Clients: their hashed secrets, their compiled records, and editing them in the config file.

A client is a `[auth.clients.<id>]` table of the configuration file. The
gateway compiles each into a `Client` once (rights, rate limit, certificate
fingerprints) and re-reads the file when it changes, so `lgsp clients revoke`
takes effect on running gateways within `auth.reload_interval` seconds.

Secrets are 32 random bytes shown once; only an scrypt hash is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import structlog
from pydantic import ValidationError

from adapters.errors import ConfigError
from gateway.config_file import load_config, save_config
from gateway.security.rights import Rights
from schemas.security import CLIENT_ID_RE, AuthSettings, ClientSettings, RateLimit

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.auth")

# scrypt at ~16 MiB and a few tens of ms: cheap once per token, costly for a brute force.
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1


def hash_secret(secret: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(secret.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P)
    b64 = base64.urlsafe_b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def check_secret(secret: str, stored: str) -> bool:
    """Constant-time comparison against a stored hash; a malformed hash never matches."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.urlsafe_b64decode(digest)
        actual = hashlib.scrypt(
            secret.encode(),
            salt=base64.urlsafe_b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            dklen=len(expected),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(actual, expected)


def new_secret() -> str:
    return secrets.token_urlsafe(32)


@dataclass(frozen=True, slots=True)
class Client:
    """A client as the hot path needs it: compiled once per configuration change."""

    client_id: str
    secret_hash: str
    rights: Rights
    rate_limit: RateLimit
    revoked: bool
    certificates: frozenset[str]
    title: str = ""
    # A confidential client's accesses are hidden from citizens before this date (ISO).
    disclose_after: str | None = None
    subject_norm: int = 0  # the enumeration alarm's norm; 0: the configured default


def compile_client(client_id: str, settings: ClientSettings) -> Client:
    return Client(
        client_id=client_id,
        secret_hash=settings.secret_hash,
        rights=Rights.parse(settings.allow),
        rate_limit=settings.rate_limit,
        revoked=settings.revoked,
        certificates=frozenset(settings.certificates),
        title=settings.title,
        disclose_after=settings.disclose_after.isoformat()
        if settings.confidential and settings.disclose_after
        else None,
        subject_norm=settings.subject_norm,
    )


class ClientStore:
    """The compiled clients, re-read from the config file when it changes (stat at most per
    `reload_interval` seconds: the hot path costs one monotonic-clock read)."""

    def __init__(self, settings: AuthSettings, config_file: Path | None = None) -> None:
        self._interval = settings.reload_interval
        self._file = config_file
        self._mtime = self._stat()
        self._checked = time.monotonic()
        self._clients, self._by_cert = self._compile(settings.clients)

    def _stat(self) -> float | None:
        try:
            return self._file.stat().st_mtime if self._file else None
        except OSError:
            return None

    @staticmethod
    def _compile(
        clients: Mapping[str, ClientSettings],
    ) -> tuple[dict[str, Client], dict[str, Client]]:
        compiled = {cid: compile_client(cid, c) for cid, c in clients.items()}
        by_cert: dict[str, Client] = {}
        for client in compiled.values():
            for fingerprint in client.certificates:
                if by_cert.setdefault(fingerprint, client) is not client:
                    raise ConfigError(f"certificate {fingerprint} is mapped to two clients")
        return compiled, by_cert

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now - self._checked < self._interval:
            return
        self._checked = now
        mtime = self._stat()
        if mtime == self._mtime or self._file is None:
            return
        self._mtime = mtime
        try:
            section = load_auth_section(self._file)
            self._clients, self._by_cert = self._compile(
                AuthSettings.model_validate(section).clients
            )
        except (OSError, ValueError, ValidationError, ConfigError) as exc:
            # A half-edited file must not open the gates: keep the last good set.
            log.error("auth.clients_reload_failed", error=type(exc).__name__)
            return
        log.info("auth.clients_reloaded", clients=len(self._clients))

    def get(self, client_id: str) -> Client | None:
        self._maybe_reload()
        return self._clients.get(client_id)

    def by_certificate(self, fingerprint: str) -> Client | None:
        self._maybe_reload()
        return self._by_cert.get(fingerprint)


# -- editing the configuration file (lgsp clients ...) -------------------------------------------


def load_auth_section(path: Path) -> dict[str, Any]:
    section: dict[str, Any] = load_config(path).get("auth", {})
    return section


def _save(path: Path, config: dict[str, Any]) -> None:
    save_config(path, config, "Edited by `lgsp clients`.")


def add_client(
    path: Path,
    client_id: str,
    allow: list[str],
    *,
    title: str = "",
    rate: float | None = None,
    burst: int | None = None,
    certificates: list[str] | None = None,
    disclose_after: date | None = None,
) -> str:
    """Add a client to the config file; return its secret (shown once, never stored)."""
    if not CLIENT_ID_RE.fullmatch(client_id):
        raise ConfigError(f"client id {client_id!r}: 2-63 of a-z 0-9 -, not starting with -")
    config = load_config(path)
    clients = config.setdefault("auth", {}).setdefault("clients", {})
    if client_id in clients:
        raise ConfigError(f"client {client_id!r} exists; revoke it or pick another id")
    secret = new_secret()
    limit = RateLimit()
    entry = ClientSettings(
        title=title,
        secret_hash=hash_secret(secret),
        allow=allow,
        rate_limit=RateLimit(rate=rate or limit.rate, burst=burst or limit.burst),
        certificates=certificates or [],
        confidential=disclose_after is not None,
        disclose_after=disclose_after,
    )
    clients[client_id] = entry.model_dump(mode="json", exclude_none=True)
    _save(path, config)
    return secret


def revoke_client(path: Path, client_id: str) -> None:
    config = load_config(path)
    clients = config.get("auth", {}).get("clients", {})
    if client_id not in clients:
        raise ConfigError(f"no client {client_id!r} in {path}")
    clients[client_id]["revoked"] = True
    _save(path, config)


def list_clients(path: Path) -> list[tuple[str, ClientSettings]]:
    section = AuthSettings.model_validate(load_auth_section(path))
    return sorted(section.clients.items())
