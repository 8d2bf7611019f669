"""What the audit trail's writer and readers share: the subject hash and the record's columns.

The gateway writes records (gateway/audit/); the `audit` adapter reads them
for subject access (adapters/audit/). Imports point `schemas ← adapters ←
gateway`, so the pieces both sides need live here: the keyed hash that turns
a personal identifier into the value a record holds, and the names of the
record's columns.
"""

from __future__ import annotations

import hashlib
import hmac

# The recorded fields, in the order they are hashed; `seq` comes first, `prev_hash` last.
TEXT_FIELDS = (
    "event_id",
    "time",
    "request_id",
    "client_id",
    "operation",
    "officer_id",
    "procedure_code",
    "case_id",
    "subject_hash",
    "request_hash",
)
NUMBER_FIELDS = ("authenticated", "status", "duration_ms")
# Added by issue 14. A record with all of them empty (every record of an older store) is
# hashed exactly as before, so old stores stay verifiable after the columns are added.
#   disclosed       the response's field groups the client was given, comma-separated
#   client_title    the client's registered name when it called
#   disclose_after  for a confidential client: the date (ISO) before which citizens do not
#                   see the access
EXTRA_FIELDS = ("disclosed", "client_title", "disclose_after")
FIELDS = (*TEXT_FIELDS, *NUMBER_FIELDS, *EXTRA_FIELDS)
COLUMNS = ("seq", *FIELDS, "prev_hash", "hash")


def keyed_hash(key: bytes, label: str, data: bytes) -> str:
    """HMAC-SHA256 over a labelled input: one key, separate domains for subjects and bodies."""
    return hmac.new(key, label.encode() + b"\x00" + data, hashlib.sha256).hexdigest()


def subject_hash(key: bytes, subject: str) -> str:
    """The value an audit record holds for a data subject's identifier (`audit.subject_key`)."""
    return keyed_hash(key, "subject", subject.strip().encode())
