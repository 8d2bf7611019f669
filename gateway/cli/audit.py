"""`lgsp audit verify | report | archive`: the inspector's and the operator's audit tools.

- `verify [--checkpoints FILE] [--checkpoint-key PUB]` walks archives, live
  store and (given) the signed checkpoints as one trail (gateway/audit/verify.py).
- `report --subject ID | --client ID [--since DATE] [--until DATE] [--json]`
  prints a person's or an agency's trail, newest first, confidential clients
  included (the inspector's view; citizens use subject access).
- `archive` moves records older than `audit.retention_days` into an archive.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.audit import SAMPLE_CATALOGUE, access, load_catalogue
from adapters.audit.trail import TrailQuery, TrailReader
from adapters.errors import ConfigError
from gateway.audit.archive import archive_old
from gateway.audit.checkpoints import load_public_key
from gateway.audit.store import AuditStore
from gateway.audit.verify import verify_trail
from schemas.audit import subject_hash
from schemas.config import AUDIT_ADAPTER, Settings

COLUMNS = ("time", "agency", "officer", "procedure", "case", "operation", "status", "disclosed")


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def verify(args: argparse.Namespace, settings: Settings, store: AuditStore) -> int:
    audit = settings.audit
    checkpoints = Path(args.checkpoints) if args.checkpoints else None
    public = None
    if checkpoints is not None:
        key_file = Path(args.checkpoint_key) if args.checkpoint_key else audit.checkpoint_key_file
        try:
            public = load_public_key(key_file)
        except (OSError, ValueError) as exc:
            raise ConfigError(f"checkpoint key: {exc}") from exc
    verdict = verify_trail(
        store,
        audit.chain_key.get_secret_value().encode(),
        archive_dir=audit.archive_dir,
        checkpoints=checkpoints,
        public_key=public,
    )
    if verdict.ok:
        signed = f", {verdict.checkpoints} signed checkpoints agree" if checkpoints else ""
        archived = f" ({verdict.archives} archives)" if verdict.archives else ""
        print(f"ok: {verdict.records} records{archived}, chain head {verdict.head}{signed}")
        return 0
    print(f"TAMPERED: {verdict.problem}", file=sys.stderr)
    print(f"the first {verdict.intact} records are intact", file=sys.stderr)
    return 1


def report_rows(args: argparse.Namespace, settings: Settings) -> list[dict[str, Any]]:
    if not (args.subject or args.client):
        raise ConfigError("lgsp audit report --subject ID | --client ID [--since DATE]")
    key = settings.audit.subject_key.get_secret_value().encode()
    hashes = {subject_hash(key, s): "subject" for s in args.subject or []}
    catalogue = settings.adapter(AUDIT_ADAPTER).options.get("procedures")
    procedures = load_catalogue(Path(catalogue) if catalogue else SAMPLE_CATALOGUE)
    page = TrailReader(settings.audit.store).page(
        TrailQuery(
            subject_hashes=tuple(hashes),
            client_id=args.client,
            since=_time(args.since),
            until=_time(args.until),
            limit=args.limit,
        )
    )
    rows = []
    for record in page.records:
        entry = access(record, hashes.get(record["subject_hash"], "-"), procedures)
        row = entry.model_dump(mode="json")
        row["client_id"] = record["client_id"]
        row["confidential_until"] = record["disclose_after"]
        rows.append(row)
    return rows


def report(args: argparse.Namespace, settings: Settings) -> int:
    rows = report_rows(args, settings)
    if args.json:
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return 0

    def agency(r: dict[str, Any]) -> str:
        until = r["confidential_until"]
        return str(r["agency"]) + (f" (confidential until {until})" if until else "")

    table = [
        (
            r["time"][:19].replace("T", " "),
            agency(r),
            r["officer_id"] or "-",
            " ".join(filter(None, (r["procedure_code"], r["procedure_name"]))) or "-",
            r["case_id"] or "-",
            r["operation"],
            str(r["status"]),
            ",".join(r["disclosed"]) or "-",
        )
        for r in rows
    ]
    widths = [max([len(c), *(len(row[i]) for row in table)]) for i, c in enumerate(COLUMNS)]
    for line in [COLUMNS, *table]:
        print("  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)))
    print(f"{len(rows)} accesses", file=sys.stderr)
    return 0


def archive(settings: Settings, store: AuditStore) -> int:
    days = settings.audit.retention_days
    if days <= 0:
        raise ConfigError("audit.retention_days is 0 (keep everything): set it to archive")
    path = archive_old(store, settings.audit.archive_dir, days)
    if path is None:
        print(f"nothing older than {days} days")
    else:
        print(f"archived up to record {store.base()[0]} into {path}")
    return 0
