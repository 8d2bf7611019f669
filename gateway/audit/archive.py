"""Retention: old audit records move into archive files whose chain continues the live one.

`lgsp audit archive` takes the records older than `audit.retention_days` (a
prefix of the chain) and writes them to one archive file under
`audit.archive_dir`, then removes them from the live store. An archive is
JSON lines: a header, then the records as the store held them (hashes
included)::

    {"format": "lgsp-audit-archive/1", "previous": "<sha256 of the previous archive file>",
     "first_seq": 1, "last_seq": 5000, "prev_hash": "<hash of record 0>"}
    {"seq": 1, "event_id": ..., "prev_hash": ..., "hash": ...}

Each archive names the digest of the one before it (X-Road's message-log
archives do the same), and the live store's `chain_base` names the digest of
the last one and the record the live chain continues from. So `verify`
walks archives and live store as one chain: a removed, replaced or reordered
archive breaks the digests; an edited record in one breaks its hash.
"""

from __future__ import annotations

import hashlib
import hmac
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson

from adapters.errors import LgspError
from gateway.audit.store import GENESIS, AuditStore, Finding, chain_hash
from schemas.audit import FIELDS

FORMAT = "lgsp-audit-archive/1"
PATTERN = "audit-*.jsonl"
BATCH = 100_000  # records per archive file at most


class ArchiveError(LgspError):
    """The live store cannot be archived as it is (its chain does not start at its base)."""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def archives(directory: Path) -> list[Path]:
    """The archive files, in chain order (their names carry the zero-padded first seq)."""
    return sorted(directory.glob(PATTERN)) if directory.is_dir() else []


def archive_old(store: AuditStore, directory: Path, retention_days: int) -> Path | None:
    """Move the records older than the retention period into a new archive file."""
    cutoff = datetime.now(UTC) - timedelta(days=retention_days)
    records = store.oldest(cutoff.isoformat(timespec="microseconds"), BATCH)
    if not records:
        return None
    base_seq, base_hash, previous = store.base()
    first, last = records[0]["seq"], records[-1]["seq"]
    header = {
        "format": FORMAT,
        "previous": previous,
        "first_seq": first,
        "last_seq": last,
        "prev_hash": base_hash,
    }
    if first != base_seq + 1:
        raise ArchiveError(
            f"the live chain starts at record {first}, not right after its base {base_seq}: "
            "run `lgsp audit verify` before archiving"
        )
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"audit-{first:012d}-{last:012d}.jsonl"
    tmp = path.with_suffix(".tmp")
    with tmp.open("wb") as out:
        out.write(orjson.dumps(header) + b"\n")
        for record in records:
            out.write(orjson.dumps(record) + b"\n")
        out.flush()
        os.fsync(out.fileno())
    tmp.chmod(0o400)  # archives are never written again
    tmp.replace(path)
    store.drop_archived(last, records[-1]["hash"], _digest(path))
    return path


@dataclass
class ArchiveWalk:
    """The result of walking the archives: where they end, and every archived hash."""

    last_seq: int = 0
    last_hash: str = GENESIS
    digest: str = GENESIS
    files: int = 0
    records: int = 0
    hashes: dict[int, str] = field(default_factory=dict)
    first_bad: Finding | None = None
    first_time: str | None = None


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    for raw in path.read_bytes().splitlines():
        value = orjson.loads(raw)
        if not isinstance(value, dict):
            raise ValueError("not an object")
        yield value


def walk(directory: Path, chain_key: bytes) -> ArchiveWalk:
    """Verify the archives as one chain: digests link the files, hashes link the records."""
    result = ArchiveWalk()
    for path in archives(directory):
        try:
            lines = _lines(path)
            header = next(lines)
            if header.get("format") != FORMAT:
                raise ValueError("unknown format")
            if header.get("previous") != result.digest:
                result.first_bad = Finding(
                    result.last_seq + 1,
                    f"archive {path.name} does not follow the archive before it (its "
                    "`previous` digest differs: an archive was removed, replaced or reordered)",
                )
                return result
            if header.get("first_seq") != result.last_seq + 1:
                result.first_bad = Finding(result.last_seq + 1, f"archive {path.name}: a gap")
                return result
            prev = result.last_hash
            for record in lines:
                seq = int(record["seq"])
                row = tuple(record.get(name) for name in FIELDS)
                expected = chain_hash(chain_key, seq, row, prev)
                if seq != result.last_seq + 1 or record.get("prev_hash") != prev:
                    result.first_bad = Finding(
                        result.last_seq + 1, f"archive {path.name}: records out of order"
                    )
                    return result
                if not hmac.compare_digest(expected, str(record.get("hash"))):
                    result.first_bad = Finding(seq, f"archive {path.name}: altered record")
                    return result
                if result.first_time is None:
                    result.first_time = str(record["time"])
                prev = expected
                result.last_seq, result.last_hash = seq, expected
                result.hashes[seq] = expected
                result.records += 1
            if result.last_seq != header.get("last_seq"):
                result.first_bad = Finding(result.last_seq + 1, f"archive {path.name}: cut short")
                return result
        except (ValueError, KeyError, TypeError, StopIteration, OSError) as exc:
            result.first_bad = Finding(
                result.last_seq + 1, f"archive {path.name} is unreadable ({type(exc).__name__})"
            )
            return result
        result.digest = _digest(path)
        result.files += 1
    return result
