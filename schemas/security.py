"""Settings of the security features: clients and their rights, tokens, the audit trail, TLS.

They live in the one configuration file (`var/lgsp.toml`) beside the rest;
`lgsp clients add|revoke` edits the `[auth.clients.*]` tables there, and a
running gateway picks the change up without a restart.

A grant (an entry of a client's `allow`) reads like X-Road's access rights,
deny by default:

    "population/citizen-verify"            the operation, no restricted field group
    "population/citizen-verify#sensitive"  also the response fields of group `sensitive`
    "population/*"                         every operation of the adapter
    "population/*#*"                       ... with every field group
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

CLIENT_ID_RE = re.compile(r"[a-z0-9][a-z0-9-]{1,62}")
GRANT_RE = re.compile(
    r"(?P<adapter>[a-z0-9*][a-z0-9-]*)/(?P<operation>[a-z0-9*][a-z0-9-]*)(?:#(?P<group>[a-z0-9*][a-z0-9_-]*))?"
)


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RateLimit(_Section):
    """A token bucket: `rate` requests a second on average, bursts of up to `burst`."""

    rate: float = Field(default=20.0, gt=0)
    burst: int = Field(default=40, ge=1)


class ClientSettings(_Section):
    title: str = ""
    # `scrypt$<n>$<r>$<p>$<salt>$<hash>` (gateway/clients.py); the secret itself is never stored.
    secret_hash: str = ""
    allow: list[str] = Field(default_factory=list)
    revoked: bool = False
    rate_limit: RateLimit = Field(default_factory=RateLimit)
    # SHA-256 fingerprints (hex) of client certificates that identify this client over mTLS.
    certificates: list[str] = Field(default_factory=list)
    # Inspection, police: citizens do not see this client's accesses to their data before
    # `disclose_after` (inspectors see them at once). Recorded with each access, in the chain.
    confidential: bool = False
    disclose_after: date | None = None
    # The enumeration alarm: distinct data subjects this client normally touches in one
    # `audit.enumeration_window`; 0 takes `audit.enumeration_norm`.
    subject_norm: int = Field(default=0, ge=0)

    @model_validator(mode="after")
    def _confidential_names_its_date(self) -> ClientSettings:
        if self.confidential and self.disclose_after is None:
            raise ValueError("a confidential client needs disclose_after (the date citizens see)")
        if self.disclose_after is not None and not self.confidential:
            raise ValueError("disclose_after is for confidential clients (set confidential)")
        return self

    @field_validator("allow")
    @classmethod
    def _grants_are_well_formed(cls, grants: list[str]) -> list[str]:
        for grant in grants:
            if not GRANT_RE.fullmatch(grant):
                raise ValueError(f"grant {grant!r} is not adapter/operation[#field-group]")
        return grants

    @field_validator("certificates")
    @classmethod
    def _fingerprints_are_hex(cls, prints: list[str]) -> list[str]:
        cleaned = [p.replace(":", "").lower() for p in prints]
        for p in cleaned:
            if not re.fullmatch(r"[0-9a-f]{64}", p):
                raise ValueError("a certificate fingerprint is 64 hex digits (SHA-256 of the DER)")
        return cleaned


class MatchThrottle(_Section):
    """Failed matches (`matched: false`, no search result) on one subject by one client.

    After `failures` of them within `window` seconds the client's next calls on that
    subject are refused (429) until the oldest failure leaves the window.
    """

    failures: int = Field(default=5, ge=1)
    window: float = Field(default=600.0, gt=0)
    # (client, subject) pairs remembered per gateway process; the oldest are forgotten first.
    max_tracked: int = Field(default=100_000, ge=1)


class TokenThrottle(_Section):
    """Failed client authentications at `POST /token`, per client id and per address."""

    failures_per_client: int = Field(default=10, ge=1)
    failures_per_address: int = Field(default=30, ge=1)
    window: float = Field(default=60.0, gt=0)
    max_tracked: int = Field(default=100_000, ge=1)


class AuthSettings(_Section):
    issuer: str = "lgsp-gateway"
    audience: str = "lgsp"
    token_ttl: int = Field(default=300, ge=10, le=86_400)
    # A validly signed token whose lifetime (`exp - iat`) is longer than this is refused;
    # None: `token_ttl`, the lifetime this gateway gives the tokens it issues.
    max_token_lifetime: int | None = Field(default=None, ge=10, le=86_400)
    token_throttle: TokenThrottle = Field(default_factory=TokenThrottle)
    match_throttle: MatchThrottle = Field(default_factory=MatchThrottle)
    # Ed25519 signing keys, one PEM file per key id; `lgsp keys rotate` adds one.
    keys_dir: Path = Path("var/keys")
    # How often a running gateway looks for new keys and edited client tables.
    reload_interval: float = 2.0
    clients: dict[str, ClientSettings] = Field(default_factory=dict)

    @property
    def token_lifetime_limit(self) -> int:
        return max(self.max_token_lifetime or 0, self.token_ttl)

    @field_validator("clients")
    @classmethod
    def _client_ids(cls, clients: dict[str, ClientSettings]) -> dict[str, ClientSettings]:
        for client_id in clients:
            if not CLIENT_ID_RE.fullmatch(client_id):
                raise ValueError(f"client id {client_id!r}: 2-63 of a-z 0-9 -, not starting with -")
        return clients


class AuditSettings(_Section):
    store: Path = Path("var/audit.sqlite3")
    # Keys of the HMACs: subject identifiers and request bodies are stored only as keyed
    # hashes, and each record's chain hash is keyed so that a forger cannot recompute it.
    subject_key: SecretStr = SecretStr("")
    chain_key: SecretStr = SecretStr("")
    publish_timeout: float = 2.0
    # Events the broker does not confirm within `publish_timeout` are kept here (one file per
    # gateway process, fsync'd) until it does; files left by stopped processes are drained too.
    spool_dir: Path = Path("var/audit-spool")
    spool_max_bytes: int = Field(default=64 * 1024 * 1024, ge=4096)
    spool_max_events: int = Field(default=100_000, ge=10)
    # The writer: how many events it writes in one durable transaction.
    batch_size: int = Field(default=256, ge=1)
    # Signed checkpoints of the chain head (gateway/audit/checkpoints.py): every
    # `checkpoint_every` records and every `checkpoint_interval` seconds (when the head moved),
    # appended to `checkpoint_file` and, when set, `checkpoint_copy` (another disk or host).
    checkpoint_key_file: Path = Path("var/audit-checkpoint.pem")
    checkpoint_file: Path = Path("var/audit-checkpoints.jsonl")
    checkpoint_copy: Path | None = None
    checkpoint_every: int = Field(default=1000, ge=1)
    checkpoint_interval: float = Field(default=60.0, gt=0)
    # Retention: the writer (every `archive_interval` seconds) and `lgsp audit archive` move
    # records older than this many days into archive files under `archive_dir` whose chain
    # continues the live one. 0: keep everything live.
    retention_days: int = Field(default=0, ge=0)
    archive_dir: Path = Path("var/audit-archive")
    archive_interval: float = Field(default=3600.0, gt=0)
    # The enumeration alarm (OWASP API6): a client touching more distinct subjects than its
    # norm within this many seconds raises `lgsp_audit_enumeration_alarms_total`; never blocks.
    enumeration_window: float = Field(default=600.0, gt=0)
    enumeration_norm: int = Field(default=500, ge=1)


class TlsSettings(_Section):
    """HTTPS for the gateway; with `client_ca_file`, client certificates too."""

    cert_file: Path | None = None
    key_file: Path | None = None
    client_ca_file: Path | None = None
    require_client_cert: bool = False
