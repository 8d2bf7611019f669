"""Token signing keys on disk: one Ed25519 PEM file per key id in `auth.keys_dir`.

The newest key signs; every key still present verifies, so `lgsp keys rotate`
never cuts off a token before it expires. Files are written mode 0600 from
their first byte; the directory is re-scanned when it changes, so a rotation
reaches running gateways within `auth.reload_interval` seconds.
"""

from __future__ import annotations

import itertools
import secrets
import time
from datetime import UTC, datetime
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.private_files import write_private
from gateway.security.tokens import CLOCK_SKEW

KID_FORMAT = "%Y%m%dT%H%M%S%fZ"  # sortable: the newest key sorts last


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
        write_private(self.keys_dir / f"{kid}.pem", pem)
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
