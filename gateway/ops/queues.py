"""Queue health: depth, consumers and rates of every LGSP queue, with a verdict.

Facts come from the RabbitMQ management API (rates, unacknowledged counts);
when it does not answer, from AMQP itself (a passive declare tells the ready
count and the consumers, nothing more). The verdict is a pure function of the
facts and the thresholds in `OpsSettings`, so operators can predict it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import quote

import aio_pika
import aiohttp
import structlog
from aio_pika.abc import AbstractChannel, AbstractConnection
from yarl import URL

from adapters.connection import BROKER_ERRORS, BrokerAddresses, mapped_broker_errors
from adapters.errors import BrokerUnavailable
from schemas.config import BusSettings, OpsSettings, Settings
from schemas.envelope import AUDIT_QUEUE, DEAD_LETTER_QUEUE, request_queue

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.ops")
Verdict = Literal["ok", "warning", "critical"]
Role = Literal["adapter", "dead-letter", "audit"]
SEVERITY: dict[Verdict, int] = {"ok": 0, "warning": 1, "critical": 2}


@dataclass(frozen=True, slots=True)
class QueueFacts:
    name: str
    ready: int
    consumers: int
    unacked: int | None = None  # None: not known (AMQP fallback)
    publish_rate: float | None = None  # messages/s, from the management API only
    deliver_rate: float | None = None


@dataclass(frozen=True, slots=True)
class QueueHealth:
    name: str
    role: Role
    adapter: str | None
    ready: int
    unacked: int | None
    consumers: int
    publish_rate: float | None
    deliver_rate: float | None
    verdict: Verdict
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class QueueReport:
    source: Literal["management", "amqp", "unavailable"]
    checked_at: str
    verdict: Verdict
    queues: list[QueueHealth]
    error: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def worst(verdicts: list[Verdict]) -> Verdict:
    return max(verdicts, key=SEVERITY.__getitem__, default="ok")


def judge(role: Role, ready: int, consumers: int, ops: OpsSettings) -> tuple[Verdict, list[str]]:
    """The verdict for one queue and why; each reason names the threshold it crossed."""
    found: list[tuple[Verdict, str]] = []
    if role == "adapter":
        if consumers == 0:
            found.append(("critical", "no consumers"))
        if ready >= ops.depth_critical:
            found.append(("critical", f"depth {ready} >= {ops.depth_critical}"))
        elif ready >= ops.depth_warning:
            found.append(("warning", f"depth {ready} >= {ops.depth_warning}"))
    elif role == "dead-letter":
        if ready >= ops.dead_letters_critical:
            found.append(("critical", f"{ready} dead letters >= {ops.dead_letters_critical}"))
        elif ready >= ops.dead_letters_warning:
            found.append(("warning", f"{ready} dead letters present"))
    else:  # audit: events wait here until the audit writer stores them
        if ready > 0 and consumers == 0:
            found.append(("warning", "audit backlog with no audit writer"))
        if ready >= ops.depth_critical:
            found.append(("critical", f"audit backlog {ready} >= {ops.depth_critical}"))
        elif ready >= ops.depth_warning:
            found.append(("warning", f"audit backlog {ready} >= {ops.depth_warning}"))
    return worst([v for v, _ in found]), [reason for _, reason in found]


def watched_queues(adapters: list[str]) -> list[tuple[str, Role, str | None]]:
    return [
        *((request_queue(a), "adapter", a) for a in adapters),
        (DEAD_LETTER_QUEUE, "dead-letter", None),
        (AUDIT_QUEUE, "audit", None),
    ]


def build_report(
    source: Literal["management", "amqp"],
    facts: dict[str, QueueFacts],
    adapters: list[str],
    ops: OpsSettings,
) -> QueueReport:
    queues: list[QueueHealth] = []
    for name, role, adapter in watched_queues(adapters):
        f = facts.get(name)
        if f is None:
            queues.append(
                QueueHealth(name, role, adapter, 0, None, 0, None, None, "critical", ["missing"])
            )
            continue
        verdict, reasons = judge(role, f.ready, f.consumers, ops)
        queues.append(
            QueueHealth(
                name,
                role,
                adapter,
                f.ready,
                f.unacked,
                f.consumers,
                f.publish_rate,
                f.deliver_rate,
                verdict,
                reasons,
            )
        )
    return QueueReport(source, _now(), worst([q.verdict for q in queues]), queues)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AmqpLink:
    """One lazily opened AMQP connection for operator work; reopened after a failure."""

    def __init__(self, settings: BusSettings) -> None:
        self.addresses = BrokerAddresses.from_settings(settings)
        self._connection: AbstractConnection | None = None
        self._lock = asyncio.Lock()

    async def _connect(self) -> AbstractConnection:
        async with self._lock:
            if self._connection is None or self._connection.is_closed:
                self._connection = await self.addresses.connect("lgsp-ops")
            return self._connection

    @contextlib.asynccontextmanager
    async def channel(self, *, confirms: bool = False) -> AsyncIterator[AbstractChannel]:
        """A channel for one piece of work; closing it returns any unacked message."""
        connection = await self._connect()
        channel = await connection.channel(publisher_confirms=confirms, on_return_raises=confirms)
        try:
            yield channel
        finally:
            if not channel.is_closed:
                with contextlib.suppress(*BROKER_ERRORS):
                    await channel.close()

    async def close(self) -> None:
        if self._connection is not None and not self._connection.is_closed:
            with contextlib.suppress(*BROKER_ERRORS):
                await self._connection.close()
        self._connection = None


class QueueMonitor:
    """Reads queue facts for the gateway's /ops/queues and /metrics, and for `lgsp queues`."""

    def __init__(self, settings: Settings, adapters: list[str], link: AmqpLink) -> None:
        self.ops = settings.ops
        self.adapters = adapters
        self.link = link
        bus = URL(settings.bus.addresses()[0])  # any node answers for the whole cluster
        self.vhost = bus.path[1:] or "/"
        base = self.ops.management_url or f"http://{bus.host}:{settings.broker.management_port}"
        self.management_url = base.rstrip("/")
        user = self.ops.management_user or bus.user or ""
        password = self.ops.management_password.get_secret_value() or bus.password or ""
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        self._headers = {"Authorization": f"Basic {token}"}
        self._session: aiohttp.ClientSession | None = None
        self._cached: tuple[float, QueueReport] | None = None

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def report(self, max_age: float = 0.0) -> QueueReport:
        """The current report; one younger than `max_age` seconds is reused (scrapes, pages).

        Counts (ready, consumers) come from AMQP, which is exact and immediate; the
        management API adds what only it knows (unacknowledged, rates) and the counts
        when AMQP cannot answer. Its own counts lag: quorum queues report every ~5 s.
        """
        now = time.monotonic()
        if self._cached is not None and now - self._cached[0] < max_age:
            return self._cached[1]
        got_management, got_counts = await asyncio.gather(
            self._from_management(), self._from_amqp(), return_exceptions=True
        )
        management: dict[str, QueueFacts] | None = None
        counts: dict[str, QueueFacts] | None = None
        error: str | None = None
        if isinstance(got_management, (aiohttp.ClientError, TimeoutError, ValueError)):
            log.info("ops.management_unavailable", error=type(got_management).__name__)
        elif isinstance(got_management, BaseException):
            raise got_management
        else:
            management = got_management
        if isinstance(got_counts, BrokerUnavailable):
            error = f"broker unreachable: {type(got_counts.__cause__).__name__}"
        elif isinstance(got_counts, BaseException):
            raise got_counts
        else:
            counts = got_counts
        if management is None and counts is None:
            report = QueueReport("unavailable", _now(), "critical", [], error)
        else:
            facts = merge_facts(management or {}, counts)
            source: Literal["management", "amqp"] = (
                "management" if management is not None else "amqp"
            )
            report = build_report(source, facts, self.adapters, self.ops)
        self._cached = (now, report)
        return report

    async def management(self, path: str) -> Any:
        """GET a management API path (`/api/...`; any node of a cluster answers for all).
        Raises aiohttp.ClientError or TimeoutError when it cannot."""
        if self._session is None:
            self._session = aiohttp.ClientSession(
                timeout=aiohttp.ClientTimeout(total=self.ops.management_timeout)
            )
        async with self._session.get(self.management_url + path, headers=self._headers) as resp:
            resp.raise_for_status()
            return await resp.json()

    async def _from_management(self) -> dict[str, QueueFacts]:
        rows = await self.management(f"/api/queues/{quote(self.vhost, safe='')}")
        if not isinstance(rows, list):
            raise ValueError("unexpected management API answer")
        facts: dict[str, QueueFacts] = {}
        for row in rows:
            stats = row.get("message_stats") or {}
            facts[row["name"]] = QueueFacts(
                name=row["name"],
                ready=int(row.get("messages_ready") or 0),
                consumers=int(row.get("consumers") or 0),
                unacked=int(row.get("messages_unacknowledged") or 0),
                publish_rate=_rate(stats, "publish_details"),
                deliver_rate=_rate(stats, "deliver_get_details"),
            )
        return facts

    async def _from_amqp(self) -> dict[str, QueueFacts]:
        facts: dict[str, QueueFacts] = {}
        for name, _role, _adapter in watched_queues(self.adapters):
            try:
                with mapped_broker_errors("read queue counts"):
                    async with self.link.channel() as channel:
                        queue = await channel.declare_queue(name, passive=True)
            except BrokerUnavailable as exc:
                if isinstance(exc.__cause__, aio_pika.exceptions.ChannelNotFoundEntity):
                    continue  # reported as missing
                raise
            result = queue.declaration_result
            facts[name] = QueueFacts(name, result.message_count or 0, result.consumer_count or 0)
        return facts


def merge_facts(
    management: dict[str, QueueFacts], counts: dict[str, QueueFacts] | None
) -> dict[str, QueueFacts]:
    """Live AMQP counts over the management API's facts (which keep unacked and rates)."""
    if counts is None:
        return management
    merged: dict[str, QueueFacts] = {}
    for name, live in counts.items():
        known = management.get(name)
        merged[name] = QueueFacts(
            name,
            live.ready,
            live.consumers,
            known.unacked if known else None,
            known.publish_rate if known else None,
            known.deliver_rate if known else None,
        )
    return merged


def _rate(stats: dict[str, Any], key: str) -> float:
    details = stats.get(key) or {}
    return round(float(details.get("rate") or 0.0), 2)
