"""The audit adapter: subject access, a citizen's view of who accessed their data.

Operation:
- `subject-access`: every recorded access to one person's data in a period, newest first,
  a page at a time, with the agency, officer, procedure (code and name), case, operation,
  outcome and the field groups disclosed. Grant it only to clients that authenticate
  citizens themselves (the provincial portal).

Its "central system" is the gateway's own audit store, read read-only beside
the writer (adapters/audit/trail.py), so the operation gets routing,
validation, access rights, OpenAPI and its own audit record like any other.
What a citizen is never shown: another person's accesses (the query is by
the keyed hashes of the identifiers asked about, nothing else), and the
accesses of a confidential client (inspection, police) before the
`disclose_after` date recorded with them; inspectors see those at once with
`lgsp audit report`.

Settings (`[adapters.audit]`, derived from `[audit]` unless set): options
`store` (the SQLite file) and `procedures` (a JSON catalogue, code -> name;
the bundled sample otherwise), credential `subject_key`.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from adapters.audit.trail import StoreUnavailable, TrailQuery, TrailReader
from adapters.central import CentralSession
from adapters.errors import ConfigError, TransientError
from adapters.interface import Adapter, Context
from schemas.audit import subject_hash
from schemas.config import AdapterSettings, RetrySettings
from schemas.subject_access import Access, SubjectAccessRequest, SubjectAccessResponse

SAMPLE_CATALOGUE = Path(__file__).with_name("procedures.json")


def load_catalogue(path: Path) -> dict[str, str]:
    """Procedure code -> name; keys starting with `_` are comments."""
    try:
        entries = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"procedure catalogue {path}: {exc}") from exc
    return {code: str(name) for code, name in entries.items() if not code.startswith("_")}


class AuditTrail:
    """The audit adapter's "central-system client": the store's reader, the key, the names."""

    def __init__(self, _session: CentralSession, settings: AdapterSettings) -> None:
        key = settings.credentials.get("subject_key")
        if key is None or not key.get_secret_value():
            raise ConfigError("the audit adapter needs audit.subject_key (run `lgsp init`)")
        self.key = key.get_secret_value().encode()
        store = settings.options.get("store")
        if not store:
            raise ConfigError("the audit adapter needs the audit store's path (audit.store)")
        self.reader = TrailReader(Path(store))
        catalogue = settings.options.get("procedures")
        self.procedures = load_catalogue(Path(catalogue) if catalogue else SAMPLE_CATALOGUE)

    def hashes(self, req: SubjectAccessRequest) -> dict[str, str]:
        """The keyed hash of each identifier asked about -> which kind of identifier it is."""
        found = {subject_hash(self.key, req.personal_id): "personal_id"}
        if req.social_insurance_code:
            found[subject_hash(self.key, req.social_insurance_code)] = "social_insurance_code"
        for code in req.tax_codes:
            found[subject_hash(self.key, code)] = "tax_code"
        return found


adapter: Adapter[AuditTrail] = Adapter(
    "audit",
    title="Audit trail (subject access)",
    connect=AuditTrail,
    # A local file: a busy store (locked for a moment) is worth one or two more tries.
    retry=RetrySettings(attempts=3, initial_backoff=0.05, max_backoff=0.2, attempt_timeout=5.0),
)


def _start(day: date | None) -> datetime | None:
    return None if day is None else datetime.combine(day, time(), tzinfo=UTC)


def access(record: dict[str, Any], identifier: str, procedures: dict[str, str]) -> Access:
    code = record["procedure_code"]
    disclosed = record["disclosed"]
    return Access(
        time=datetime.fromisoformat(record["time"]),
        identifier=identifier,
        agency=record["client_title"] or record["client_id"] or "unknown",
        officer_id=record["officer_id"],
        procedure_code=code,
        procedure_name=procedures.get(code) if code else None,
        case_id=record["case_id"],
        operation=record["operation"],
        status=record["status"],
        disclosed=disclosed.split(",") if disclosed else [],
        receipt=record["event_id"],
    )


@adapter.operation(
    "subject-access",
    personal_data=True,
    subject="personal_id",
    example={"personal_id": "031090000001", "since": "2026-01-01"},  # synthetic
)
async def subject_access(
    req: SubjectAccessRequest, ctx: Context[AuditTrail]
) -> SubjectAccessResponse:
    """Who accessed this person's data: every recorded access, newest first, paginated."""
    trail = ctx.client
    hashes = trail.hashes(req)
    query = TrailQuery(
        subject_hashes=tuple(hashes),
        event_id=req.receipt,
        since=_start(req.since),
        until=_start(req.until + timedelta(days=1)) if req.until else None,
        before_seq=int(req.cursor) if req.cursor else None,
        visible_on=datetime.now(UTC).date(),
        limit=req.limit,
    )
    try:
        page = await asyncio.to_thread(trail.reader.page, query)
    except StoreUnavailable as exc:
        raise TransientError(str(exc)) from exc
    accesses = [access(r, hashes[r["subject_hash"]], trail.procedures) for r in page.records]
    return SubjectAccessResponse(
        accesses=accesses,
        next_cursor=str(page.records[-1]["seq"]) if page.more else None,
        live_since=datetime.fromisoformat(page.live_since) if page.live_since else None,
        archived=page.archived,
    )
