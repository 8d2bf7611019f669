"""The operator's security commands: `lgsp clients`, `lgsp keys`, `lgsp audit`, `lgsp audit-writer`.

Registered on the `lgsp` parser by `add_commands(sub)` (gateway/cli.py).
Client commands edit the configuration file (`LGSP_CONFIG`, default
var/lgsp.toml); running gateways pick the change up within seconds.
"""

from __future__ import annotations

import argparse
import json
from datetime import UTC, date, datetime
from typing import Any

from adapters.errors import ConfigError
from schemas.config import Settings, config_path


def _clients(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.security.clients import add_client, list_clients, revoke_client

    path = config_path()
    if args.action == "add":
        if not args.name:
            raise ConfigError("lgsp clients add NAME --allow adapter/operation[#group] ...")
        secret = add_client(
            path,
            args.name,
            args.allow or [],
            title=args.title or "",
            rate=args.rate,
            burst=args.burst,
            certificates=args.certificate or [],
            disclose_after=date.fromisoformat(args.confidential_until)
            if args.confidential_until
            else None,
        )
        print(f"client {args.name} added to {path}")
        print(f"client_secret: {secret}")
        print("(shown once: store it in the client system's secret store now)")
        print(
            f"token: curl -s -u {args.name}:<secret> -d grant_type=client_credentials "
            f"http://{settings.gateway.host}:{settings.gateway.port}/token"
        )
    elif args.action == "list":
        for client_id, client in list_clients(path):
            state = "revoked" if client.revoked else "active"
            rate = f"{client.rate_limit.rate:g}/s burst {client.rate_limit.burst}"
            print(f"{client_id}\t{state}\t{rate}\t{' '.join(client.allow) or '(no rights)'}")
    else:
        if not args.name:
            raise ConfigError("lgsp clients revoke NAME")
        revoke_client(path, args.name)
        print(f"client {args.name} revoked: its tokens are refused from now on")
    return 0


def _keys(_args: argparse.Namespace, settings: Settings) -> int:
    from gateway.security.keys import KeyRing

    ring = KeyRing(settings.auth.keys_dir, settings.auth.reload_interval)
    kid = ring.rotate(settings.auth.token_ttl)
    print(f"new signing key {kid} in {settings.auth.keys_dir}; tokens signed with older keys")
    print("stay valid until they expire (older keys are removed once no token can need them)")
    return 0


def _time(value: str | None) -> datetime | None:
    if value is None:
        return None
    parsed = datetime.fromisoformat(value)
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)).astimezone(UTC)


def _audit(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.audit.store import AuditStore
    from schemas.audit import subject_hash

    audit = settings.audit
    if not audit.store.exists():
        raise ConfigError(f"no audit store at {audit.store}")
    store = AuditStore(audit.store, audit.chain_key.get_secret_value().encode())
    try:
        from gateway.cli import audit as audit_commands

        if args.action == "verify":
            return audit_commands.verify(args, settings, store)
        if args.action == "report":
            return audit_commands.report(args, settings)
        if args.action == "archive":
            return audit_commands.archive(settings, store)
        key = audit.subject_key.get_secret_value().encode()
        found: Any = store.search(
            client_id=args.client,
            event_id=args.receipt,
            subject_hash=subject_hash(key, args.subject[0]) if args.subject else None,
            operation=args.operation,
            since=_time(args.since),
            until=_time(args.until),
            limit=args.limit,
        )
        for record in found:
            print(json.dumps(record, ensure_ascii=False))
        return 0
    finally:
        store.close()


def _audit_writer(_args: argparse.Namespace, settings: Settings) -> int:
    from gateway.audit.writer import run_audit_writer

    return run_audit_writer(settings)


def add_commands(sub: Any) -> None:
    p = sub.add_parser("clients", help="add, list or revoke API clients (edits the config file)")
    p.add_argument("action", choices=["add", "list", "revoke"])
    p.add_argument("name", nargs="?")
    p.add_argument(
        "--allow",
        action="append",
        metavar="GRANT",
        help="adapter/operation[#field-group], wildcards *; repeat for more",
    )
    p.add_argument("--title")
    p.add_argument("--rate", type=float, help="requests a second (token bucket)")
    p.add_argument("--burst", type=int)
    p.add_argument(
        "--certificate",
        action="append",
        metavar="SHA256",
        help="fingerprint of a client certificate that identifies this client (mTLS)",
    )
    p.add_argument(
        "--confidential-until",
        metavar="DATE",
        help="a confidential client (inspection, police): citizens see its accesses from DATE",
    )
    p.set_defaults(func=_clients)

    p = sub.add_parser("keys", help="token signing keys")
    p.add_argument("action", choices=["rotate"])
    p.set_defaults(func=_keys)

    p = sub.add_parser("audit", help="verify, search, report on or archive the audit trail")
    p.add_argument("action", choices=["verify", "search", "report", "archive"])
    p.add_argument("--client")
    p.add_argument(
        "--subject",
        action="append",
        help="the subject's identifier in clear; hashed for the look-up (report: repeatable)",
    )
    p.add_argument("--receipt", help="search: the LGSP-Audit-Receipt of an answer")
    p.add_argument("--checkpoints", metavar="FILE", help="verify: the signed checkpoint file")
    p.add_argument(
        "--checkpoint-key",
        metavar="PUB",
        help="verify: the checkpoint public key (default: audit.checkpoint_key_file + .pub)",
    )
    p.add_argument("--json", action="store_true", help="report: JSON instead of a table")
    p.add_argument("--operation", help="adapter/operation, token or services")
    p.add_argument("--since", help="ISO 8601 time (UTC when no offset)")
    p.add_argument("--until", help="ISO 8601 time (UTC when no offset)")
    p.add_argument("--limit", type=int, default=1000)
    p.set_defaults(func=_audit)

    p = sub.add_parser("audit-writer", help="consume lgsp.audit into the audit store")
    p.set_defaults(func=_audit_writer)
