"""`lgsp audit verify`: archives, live store and signed checkpoints checked as one trail.

In order: the archives link to each other and their records chain
(gateway/audit/archive.py); the live store continues from the last archive;
the live chain is intact up to its head row (gateway/audit/store.py); and,
given a checkpoint file, every signed checkpoint verifies and the chain still
holds, at each checkpointed record, the hash that was signed
(gateway/audit/checkpoints.py). The first contradiction is the verdict.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from gateway.audit import archive as audit_archive
from gateway.audit import checkpoints as audit_checkpoints
from gateway.audit.store import AuditStore, Verification


@dataclass(frozen=True, slots=True)
class TrailVerdict:
    records: int  # in the whole chain, archives included
    intact: int  # how many from the start were found intact
    head: str
    archives: int
    checkpoints: int
    problem: str | None

    @property
    def ok(self) -> bool:
        return self.problem is None


def verify_trail(
    store: AuditStore,
    chain_key: bytes,
    *,
    archive_dir: Path,
    checkpoints: Path | None = None,
    public_key: Ed25519PublicKey | None = None,
) -> TrailVerdict:
    walked = audit_archive.walk(archive_dir, chain_key)
    live: Verification | None = None

    def verdict(problem: str | None, intact: int, head: str, signed: int = 0) -> TrailVerdict:
        total = walked.records + live.records if live is not None else walked.records
        return TrailVerdict(total, intact, head, walked.files, signed, problem)

    if walked.first_bad is not None:
        bad = walked.first_bad
        return verdict(f"record {bad.seq}: {bad.reason}", bad.seq - 1, walked.last_hash)
    base_seq, base_hash, digest = store.base()
    if (base_seq, base_hash, digest) != (walked.last_seq, walked.last_hash, walked.digest):
        if base_seq > walked.last_seq:
            problem = (
                f"archives missing: the live store continues after record {base_seq}, "
                f"the archives in {archive_dir} end at record {walked.last_seq}"
            )
        else:
            problem = "the live store does not continue the last archive (its base differs)"
        return verdict(problem, walked.last_seq, walked.last_hash)
    live = store.verify()
    if live.first_bad is not None:
        bad = live.first_bad
        return verdict(f"record {bad.seq}: {bad.reason}", bad.seq - 1, live.head)
    length = base_seq + live.records
    head = live.head if live.records else base_hash
    if checkpoints is None:
        return verdict(None, length, head)
    if public_key is None:
        raise ValueError("verifying checkpoints needs the checkpoint public key")
    try:
        signed = audit_checkpoints.read(checkpoints, public_key)
    except audit_checkpoints.CheckpointError as exc:
        return verdict(f"checkpoint file {checkpoints}: {exc}", length, head)
    except OSError as exc:
        return verdict(f"checkpoint file {checkpoints}: unreadable ({exc.strerror})", 0, head)

    def hash_at(seq: int) -> str | None:
        return walked.hashes.get(seq) or store.hash_at(seq)

    contradiction = audit_checkpoints.check(signed, length, hash_at)
    if contradiction is not None:
        return verdict(contradiction.reason, contradiction.intact, head, len(signed))
    if not signed:
        return verdict("the checkpoint file holds no checkpoint", length, head)
    return verdict(None, length, head, len(signed))
