"""The operator's commands: `lgsp queues`, `lgsp dlq ...`, `lgsp maintenance ...`.

They talk to the broker directly (management API, then AMQP), with the same
settings as the gateway, so they work while no gateway runs. `lgsp queues`
exits like a monitoring plugin: 0 ok, 1 warning, 2 critical.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any, TextIO

from adapters.connection import mapped_broker_errors
from gateway.ops import maintenance
from gateway.ops.dlq import DeadLetters
from gateway.ops.queues import SEVERITY, AmqpLink, QueueMonitor, QueueReport
from schemas.config import Settings

Input = Callable[[str], str]


def render_table(report: QueueReport) -> str:
    header = ("QUEUE", "VERDICT", "READY", "UNACKED", "CONSUMERS", "PUBLISH/S", "DELIVER/S", "WHY")
    rows: list[tuple[str, ...]] = [header]
    for q in report.queues:
        rows.append(
            (
                q.name,
                q.verdict.upper() if q.verdict != "ok" else "ok",
                str(q.ready),
                "-" if q.unacked is None else str(q.unacked),
                str(q.consumers),
                "-" if q.publish_rate is None else f"{q.publish_rate:.1f}",
                "-" if q.deliver_rate is None else f"{q.deliver_rate:.1f}",
                "; ".join(q.reasons),
            )
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    numeric = {2, 3, 4, 5, 6}
    lines = [
        "  ".join(
            cell.rjust(widths[i]) if i in numeric else cell.ljust(widths[i])
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]
    footer = f"overall {report.verdict.upper()} · facts from {report.source} · {report.checked_at}"
    if report.error:
        footer += f" · {report.error}"
    return "\n".join([*lines, "", footer])


async def queues_command(
    settings: Settings,
    adapters: list[str],
    *,
    watch: bool = False,
    interval: float = 2.0,
    as_json: bool = False,
    out: TextIO = sys.stdout,
    rounds: int | None = None,
) -> int:
    link = AmqpLink(settings.bus)
    monitor = QueueMonitor(settings, adapters, link)
    shown = 0
    try:
        while True:
            report = await monitor.report()
            if as_json:
                out.write(json.dumps(report.as_dict(), indent=2) + "\n")
            else:
                if watch:
                    out.write("\x1b[H\x1b[2J")  # clear the terminal between refreshes
                out.write(render_table(report) + "\n")
            out.flush()
            shown += 1
            if not watch or (rounds is not None and shown >= rounds):
                return SEVERITY[report.verdict]
            await asyncio.sleep(interval)
    finally:
        await monitor.close()
        await link.close()


async def dlq_command(
    settings: Settings,
    action: str,
    ids: list[str],
    *,
    select_all: bool = False,
    limit: int = 100,
    yes: bool = False,
    as_json: bool = False,
    out: TextIO = sys.stdout,
    ask: Input = input,
) -> int:
    link = AmqpLink(settings.bus)
    dead = DeadLetters(link, settings.ops, settings.bus.publish_timeout)
    selection: list[str] | None = None if select_all else ids
    try:
        if action in ("replay", "purge") and not select_all and not ids:
            out.write(f"lgsp dlq {action}: name message ids, or --all\n")
            return 2
        if action == "show" and len(ids) != 1:
            out.write("lgsp dlq show: name one message id\n")
            return 2
        if action == "list":
            messages = await dead.list(limit)
            _print(out, {"messages": messages} if as_json else _list_text(messages), as_json)
        elif action == "show":
            found = await dead.show(ids[0])
            if found is None:
                out.write(f"no dead letter with id {ids[0]}\n")
                return 1
            out.write(json.dumps(found, indent=2, ensure_ascii=False, default=str) + "\n")
        elif action == "replay":
            result = await dead.replay(selection)
            _print(out, result, True)
            return 1 if result["failed"] or result["not_found"] else 0
        elif action == "purge":
            what = "ALL dead letters" if select_all else f"{len(ids)} dead letter id(s)"
            if not yes and ask(f"Purge {what} for good? Type 'purge' to confirm: ") != "purge":
                out.write("not purged\n")
                return 1
            _print(out, {"purged": await dead.purge(selection)}, True)
        return 0
    finally:
        await link.close()


def _print(out: TextIO, data: Any, as_json: bool) -> None:
    out.write((json.dumps(data, indent=2, default=str) if as_json else str(data)) + "\n")


def _list_text(messages: list[dict[str, Any]]) -> str:
    if not messages:
        return "no dead letters"
    lines = [f"{'ID':<34} {'REASON':<18} {'BY':<7} {'ORIGIN':<28} {'DEATHS':>6}  TYPE"]
    for m in messages:
        lines.append(
            f"{m['id']:<34} {m['reason']:<18} {m['dead_lettered_by']:<7} "
            f"{m['origin_queue'] or '-':<28} {m['deaths']:>6}  {m['type'] or '-'}"
        )
    lines.append(f"{len(messages)} message(s)")
    return "\n".join(lines)


def maintenance_command(settings: Settings, action: str, reason: str, out: TextIO) -> int:
    path = settings.ops.maintenance_file
    if action in ("on", "off"):
        state = maintenance.switch(path, action == "on", reason)
    else:
        state = maintenance.status(path)
    if state["maintenance"]:
        out.write(f"maintenance ON since {state['since']} ({path}): /readyz answers 503\n")
    else:
        out.write("maintenance off: /readyz reports the node's real state\n")
    return 0


# -- argparse wiring (gateway/cli.py calls add_commands) -----------------------------------


def _adapters() -> list[str]:
    from adapters.registry import Registry

    return Registry.discover().names


def _queues(args: argparse.Namespace, settings: Settings) -> int:
    try:
        return asyncio.run(
            queues_command(
                settings,
                _adapters(),
                watch=args.watch,
                interval=args.interval,
                as_json=args.json,
            )
        )
    except KeyboardInterrupt:
        return 0


def _dlq(args: argparse.Namespace, settings: Settings) -> int:
    # A broker failure reaches `lgsp` as BrokerUnavailable: "lgsp: ...", exit status 2.
    with mapped_broker_errors("dead letters, nothing changed"):
        return asyncio.run(
            dlq_command(
                settings,
                args.action,
                args.ids,
                select_all=args.all,
                limit=args.limit,
                yes=args.yes,
                as_json=args.json,
            )
        )


def _maintenance(args: argparse.Namespace, settings: Settings) -> int:
    return maintenance_command(settings, args.action, args.reason, sys.stdout)


def add_commands(sub: Any) -> None:
    p = sub.add_parser("queues", help="queue health: depth, consumers, rates, verdict")
    p.add_argument("--watch", action="store_true", help="refresh until Ctrl-C")
    p.add_argument("--interval", type=float, default=2.0)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_queues)

    p = sub.add_parser("dlq", help="dead letters: list, show, replay, purge")
    p.add_argument("action", choices=["list", "show", "replay", "purge"])
    p.add_argument("ids", nargs="*", help="message ids (from `lgsp dlq list`)")
    p.add_argument("--all", action="store_true", help="replay or purge every dead letter")
    p.add_argument("--limit", type=int, default=100, help="list at most this many")
    p.add_argument("--yes", action="store_true", help="purge without asking")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_dlq)

    p = sub.add_parser("maintenance", help="drain this node: /readyz answers 503 while on")
    p.add_argument("action", choices=["on", "off", "status"])
    p.add_argument("--reason", default="", help="noted in the flag file")
    p.set_defaults(func=_maintenance)
