"""Signed checkpoints of the audit chain: what proves the trail against whoever can write to it.

The chain (gateway/audit/store.py) catches an edit, a deletion, an insertion
or a reordering, but not someone who holds the store: they can cut its tail,
empty both tables, or, holding the chain key, rewrite the chain whole. So the
writer signs the chain head (sequence, hash, time) with an Ed25519 key of its
own, every `audit.checkpoint_every` records and every
`audit.checkpoint_interval` seconds, and appends each checkpoint as one JSON
line to a file outside the store (and to `audit.checkpoint_copy`, another
disk or host, when set). Verifying the store against the checkpoints then
catches:

- a truncated tail: a checkpoint names a record the chain no longer has;
- both tables emptied: the same, with a chain of no records;
- a chain rewritten whole (chain key held): a record no longer has the hash
  a checkpoint signed;
- a forged or edited checkpoint: its signature does not verify.

The signing key never needs to be on the machine that verifies: the public
key is written beside it (`<key>.pub`). Records written after the last
checkpoint are covered by the chain only, until the next checkpoint.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from gateway.audit.store import GENESIS
from gateway.private_files import write_private
from schemas.security import AuditSettings

DOMAIN = b"lgsp-audit-checkpoint/1\n"


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def public_path(key_file: Path) -> Path:
    return key_file.with_name(key_file.name + ".pub")


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()[:16]


def ensure_key(key_file: Path) -> Ed25519PrivateKey:
    """Load the signing key, creating it (mode 0600 from the start) and its `.pub` if absent."""
    if key_file.exists():
        key = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise ValueError(f"{key_file} is not an Ed25519 private key")
    else:
        key_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        write_private(key_file, pem)  # mode 0600 before its first byte
    pub = public_path(key_file)
    if not pub.exists():
        pub.write_bytes(
            key.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return key


def load_public_key(key_file: Path) -> Ed25519PublicKey:
    """The verifying key: `<key>.pub`, or derived from the private key when only it is there."""
    pub = public_path(key_file)
    if pub.exists():
        key = serialization.load_pem_public_key(pub.read_bytes())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError(f"{pub} is not an Ed25519 public key")
        return key
    if key_file.exists():
        return ensure_key(key_file).public_key()
    raise FileNotFoundError(f"no checkpoint key: neither {pub} nor {key_file}")


def _message(seq: int, head: str, time: str) -> bytes:
    return DOMAIN + orjson.dumps([seq, head, time])


@dataclass(frozen=True, slots=True)
class Checkpoint:
    seq: int
    hash: str
    time: str
    key: str
    signature: str

    def line(self) -> bytes:
        return orjson.dumps(
            {
                "seq": self.seq,
                "hash": self.hash,
                "time": self.time,
                "key": self.key,
                "signature": self.signature,
            }
        )


def sign(key: Ed25519PrivateKey, seq: int, head: str, time: datetime | None = None) -> Checkpoint:
    stamp = (time or datetime.now(UTC)).isoformat(timespec="microseconds")
    signature = key.sign(_message(seq, head, stamp))
    return Checkpoint(seq, head, stamp, key_id(key.public_key()), _b64(signature))


def append(paths: Iterable[Path], checkpoint: Checkpoint) -> None:
    """Append one line to each file, durably (fsync) before returning."""
    line = checkpoint.line() + b"\n"
    for path in paths:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        try:
            os.write(fd, line)
            os.fsync(fd)
        finally:
            os.close(fd)


class CheckpointError(ValueError):
    """A checkpoint file line that is not a well-formed, validly signed checkpoint."""


def read(path: Path, public: Ed25519PublicKey) -> list[Checkpoint]:
    """Every checkpoint of the file, each signature verified, in order; raise on the first bad."""
    found: list[Checkpoint] = []
    for number, raw in enumerate(path.read_bytes().splitlines(), start=1):
        if not raw.strip():
            continue
        try:
            fields = orjson.loads(raw)
            checkpoint = Checkpoint(
                seq=int(fields["seq"]),
                hash=str(fields["hash"]),
                time=str(fields["time"]),
                key=str(fields["key"]),
                signature=str(fields["signature"]),
            )
            public.verify(
                _unb64(checkpoint.signature),
                _message(checkpoint.seq, checkpoint.hash, checkpoint.time),
            )
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError, binascii.Error) as exc:
            reason = type(exc).__name__
            raise CheckpointError(f"line {number}: not a checkpoint ({reason})") from None
        except InvalidSignature:
            raise CheckpointError(
                f"line {number}: the signature does not verify (forged, edited, or another key)"
            ) from None
        if found and (checkpoint.seq < found[-1].seq or checkpoint.time < found[-1].time):
            raise CheckpointError(f"line {number}: out of order (earlier than the line before)")
        found.append(checkpoint)
    return found


@dataclass(frozen=True, slots=True)
class Contradiction:
    reason: str
    intact: int  # records from the start a checkpoint still vouches for


def check(
    checkpoints: Sequence[Checkpoint], length: int, hash_at: Callable[[int], str | None]
) -> Contradiction | None:
    """What a chain of `length` records (intact as a chain) contradicts, or None.

    `hash_at(seq)` gives the hash of record `seq` of the chain (archives included).
    """
    vouched = 0
    for checkpoint in checkpoints:
        if checkpoint.seq > length:
            state = "was emptied: it has no records" if length == 0 else f"ends at record {length}"
            return Contradiction(
                f"truncated: a checkpoint signed at {checkpoint.time} covers record "
                f"{checkpoint.seq}, but the chain {state}",
                length,
            )
        actual = GENESIS if checkpoint.seq == 0 else hash_at(checkpoint.seq)
        if actual != checkpoint.hash:
            return Contradiction(
                f"rewritten: record {checkpoint.seq} does not have the hash the checkpoint "
                f"signed at {checkpoint.time} names (the chain was replaced)",
                vouched,
            )
        vouched = checkpoint.seq
    return None


class Checkpointer:
    """The writer's side: signs the head when enough records or enough time went by."""

    def __init__(self, settings: AuditSettings) -> None:
        self._key = ensure_key(settings.checkpoint_key_file)
        self.paths = [settings.checkpoint_file]
        if settings.checkpoint_copy is not None:
            self.paths.append(settings.checkpoint_copy)
        self._every = settings.checkpoint_every
        self._interval = settings.checkpoint_interval
        self._last_seq: int | None = None
        self._last_time = 0.0
        self.written = 0

    def due(self, seq: int, now: float, *, final: bool = False) -> bool:
        """Sign now? Always first; then when the head moved by N records or T seconds passed
        (`final`, at stop: whenever it moved at all)."""
        if self._last_seq is None:
            return True
        if seq == self._last_seq:
            return False
        return (
            final or seq - self._last_seq >= self._every or now - self._last_time >= self._interval
        )

    def write(self, seq: int, head: str, now: float) -> Checkpoint:
        checkpoint = sign(self._key, seq, head)
        append(self.paths, checkpoint)
        self._last_seq, self._last_time = seq, now
        self.written += 1
        return checkpoint
