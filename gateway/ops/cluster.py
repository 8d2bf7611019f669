"""The whole deployment in one view: broker nodes and their health, every process, cluster totals.

- **Broker nodes** come from the management API (`/api/nodes`): running or not,
  memory and disk alarms, network partitions, uptime. Any node answers for all.
- **Processes** are the broker's connections on our virtual host
  (`/api/vhosts/{vhost}/connections`): every process of ours names its
  connections (`lgsp-gateway-PID`, `lgsp-worker-ADAPTER-PID`, `lgsp-audit-writer-PID`,
  `lgsp-gossip-PID`, `lgsp-ops`), so the broker knows who is connected, from
  which host, to which node, without anything else to run.
- **Gateways** are this process and the peers heard on `lgsp.gossip`
  (gateway/gossip.py), each with the node it uses, its requests in flight and
  whether it is ready; the **service statistics** of the last 10 minutes are
  the sum of every gateway's (`merge_services`).

When the management API cannot answer, nodes and processes are empty and
`management_error` says why; the gossip figures still show.
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import quote

import aiohttp

from gateway.gossip import Gossip
from gateway.ops.queues import QueueMonitor

NODE_FIELDS = ("name", "running", "mem_alarm", "disk_free_alarm", "uptime")


def node_health(row: dict[str, Any]) -> dict[str, Any]:
    facts = {key: row.get(key) for key in NODE_FIELDS}
    partitions = row.get("partitions") or []
    facts["partitions"] = partitions
    problems = [
        reason
        for reason, bad in (
            ("not running", not row.get("running")),
            ("memory alarm", row.get("mem_alarm")),
            ("disk alarm", row.get("disk_free_alarm")),
            ("partitioned", bool(partitions)),
        )
        if bad
    ]
    facts["verdict"] = "critical" if problems else "ok"
    facts["reasons"] = problems
    return facts


def process_row(row: dict[str, Any]) -> dict[str, Any]:
    props = row.get("client_properties") or {}
    return {
        "name": props.get("connection_name") or row.get("name"),
        "host": row.get("peer_host"),
        "node": row.get("node"),
        "state": row.get("state"),
    }


def merge_services(reports: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Each gateway's service statistics summed into one entry per service."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for report in reports:
        for entry in report:
            key = (str(entry["adapter"]), str(entry["operation"]))
            calls = entry["successes"] + entry["failures"] + entry["rejected"]
            into = merged.get(key)
            if into is None:
                merged[key] = {**entry, "_calls": calls, "_total": (entry["avg_ms"] or 0) * calls}
                continue
            for field in ("successes", "failures", "rejected"):
                into[field] += entry[field]
            into["_calls"] += calls
            into["_total"] += (entry["avg_ms"] or 0) * calls
            into["min_ms"] = _pick(min, into["min_ms"], entry["min_ms"])
            into["max_ms"] = _pick(max, into["max_ms"], entry["max_ms"])
            into["last_success"] = _pick(max, into["last_success"], entry["last_success"])
            into["last_failure"] = _pick(max, into["last_failure"], entry["last_failure"])
    out = []
    for key in sorted(merged):
        entry = merged[key]
        calls, total = entry.pop("_calls"), entry.pop("_total")
        entry["avg_ms"] = round(total / calls, 2) if calls else None
        out.append(entry)
    return out


def _pick(choose: Any, a: Any, b: Any) -> Any:
    present = [x for x in (a, b) if x is not None]
    return choose(present) if present else None


async def cluster_report(
    monitor: QueueMonitor, gossip: Gossip, own_services: list[dict[str, Any]]
) -> dict[str, Any]:
    nodes: list[dict[str, Any]] = []
    processes: list[dict[str, Any]] = []
    error: str | None = None
    try:
        nodes = [node_health(row) for row in await monitor.management("/api/nodes")]
        rows = await monitor.management(f"/api/vhosts/{quote(monitor.vhost, safe='')}/connections")
        processes = sorted((process_row(row) for row in rows), key=lambda p: str(p["name"]))
    except (aiohttp.ClientError, TimeoutError, ValueError, TypeError) as exc:
        error = type(exc).__name__
    own = gossip.report(["gateway"])
    peers = gossip.live_peers()
    now = time.time()
    gateways = [
        {
            "process": report["process"],
            "node": report.get("node"),
            "this": report is own,
            "age_seconds": round(max(now - float(report.get("sent", now)), 0.0), 2),
            **(report.get("topics", {}).get("gateway") or {}),
        }
        for report in [own, *(peers[name] for name in sorted(peers))]
    ]
    services = merge_services(
        [own_services, *(r.get("topics", {}).get("services") or [] for r in peers.values())]
    )
    return {
        "nodes": nodes,
        "processes": processes,
        "gateways": gateways,
        "services": services,
        "management_error": error,
    }
