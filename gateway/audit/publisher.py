"""The gateway's side of the audit trail: one event per `/v1` and `/token` call, published.

An observer (gateway/http/edge.py) sees every answer, refusals included, and
publishes one event to `lgsp.audit` with publisher confirms and a bounded
wait; an event the broker does not confirm in time goes to the local spool
(spool.py, fsync'd), which is drained to `lgsp.audit` when the broker is back.
An answer carrying personal data waits until its event is confirmed or
spooled, and becomes a 503 when neither happens: nothing personal leaves
unrecorded, and the event then records the 503 the caller gets. Every other
event is recorded in the background, so refusals cost the caller nothing.
The audit store skips event ids it already has, so an event both spooled and
(late) confirmed is one record.

Subject identifiers and request bodies are recorded as keyed hashes
(HMAC-SHA256 with `audit.subject_key`): who accessed whose record can be
looked up by someone holding the key, and read by nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Gauge

from adapters.interface import Operation
from adapters.logs import mask_text
from gateway.audit.batch import AuditBatcher
from gateway.audit.spool import AuditSpool
from gateway.bus import Bus
from gateway.http.operations import resolve
from gateway.http.state import CLAIMED_CLIENT_ID, CLIENT_ID, PURPOSE, REQUEST_ID, SUBJECT
from gateway.ids import new_id
from gateway.problems import ProblemError, problem_response
from schemas.audit import keyed_hash, subject_hash
from schemas.problems import Problem, ProblemType
from schemas.security import AuditSettings

__all__ = ["AUDIT", "RECEIPT_HEADER", "AuditPublisher", "keyed_hash", "subject_hash"]

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.audit")

AUDITED_PREFIX = "/v1/"
OAUTH_PATH = "/token"
DRAIN_INTERVAL = 1.0  # seconds between looks at the spool while the broker is connected
MAX_DRAIN_DELAY = 5.0
# A personal-data answer is disclosed only while the spool is below this share of its bounds:
# the rest is kept for the records of the refusals themselves.
DISCLOSURE_SHARE = 0.9
# On every answer that disclosed personal data: the id of the audit record that holds it.
RECEIPT_HEADER = "LGSP-Audit-Receipt"
# What the record says about the client (registered name, confidentiality, field groups
# disclosed): given by the security room (gateway/security/disclosure.py) at assembly.
ClientFacts = Callable[[web.Request, Operation[Any] | None], dict[str, str | None]]


def is_audited(path: str) -> bool:
    return path.startswith(AUDITED_PREFIX) or path in (OAUTH_PATH, "/v1")


def operation_of(request: web.Request) -> str:
    """`adapter/operation`, `token`, `services`, or the (masked) path of an unrouted call."""
    if request.path == OAUTH_PATH:
        return "token"
    adapter = request.match_info.get("adapter")
    operation = request.match_info.get("operation")
    if adapter is not None and operation is not None:
        resolved = resolve(request)
        if resolved is not None:
            return resolved.key
        # Unknown: whatever the caller put in the URL, never an identifier in clear.
        return mask_text(f"{adapter}/{operation}")[:128]
    if request.path == "/v1/services":
        return "services"
    return mask_text(request.path)[:128]


def is_write(request: web.Request) -> bool:
    resolved = resolve(request)
    return resolved is not None and resolved.operation.write


async def _request_bytes(request: web.Request) -> bytes:
    try:
        return await request.read()  # cached when the handler read it already
    except (web.HTTPException, ConnectionError, ValueError):
        return b""


class AuditPublisher:
    def __init__(
        self, settings: AuditSettings, bus: Bus, client_facts: ClientFacts | None = None
    ) -> None:
        self.settings = settings
        self.bus = bus
        self.client_facts: ClientFacts = client_facts or (lambda _request, _operation: {})
        self.key = settings.subject_key.get_secret_value().encode()
        if not self.key:
            # Never hash identifiers with an empty key (a dictionary attack away from clear);
            # a key of this process only keeps them unreadable, though not searchable.
            log.warning("audit.no_subject_key", fix="run `lgsp init` or set audit.subject_key")
            self.key = secrets.token_bytes(32)
        self._background: set[asyncio.Task[bool]] = set()
        self._batcher: AuditBatcher | None = None
        self.spool = AuditSpool(
            settings.spool_dir,
            max_bytes=settings.spool_max_bytes,
            max_events=settings.spool_max_events,
        )
        self.unrecorded = 0
        self._closing = asyncio.Event()

    async def event(
        self, request: web.Request, response: web.StreamResponse, duration: float
    ) -> dict[str, Any]:
        purpose = request.get(PURPOSE)
        subject = request.get(SUBJECT)
        body = await _request_bytes(request)
        head = f"{request.method} {request.path}\n".encode()
        return {
            "event_id": new_id(),
            "time": datetime.now(UTC).isoformat(timespec="microseconds"),
            "request_id": request.get(REQUEST_ID, ""),
            "client_id": request.get(CLIENT_ID) or request.get(CLAIMED_CLIENT_ID),
            "authenticated": request.get(CLIENT_ID) is not None,
            "operation": operation_of(request),
            "officer_id": purpose.officer_id if purpose else None,
            "procedure_code": purpose.procedure_code if purpose else None,
            "case_id": purpose.case_id if purpose else None,
            "subject_hash": subject_hash(self.key, str(subject)) if subject else None,
            "status": response.status,
            "request_hash": keyed_hash(self.key, "request", head + body),
            "duration_ms": round(duration * 1000, 3),
            **self.client_facts(request, self._disclosed(request, response)),
        }

    def _disclosed(
        self, request: web.Request, response: web.StreamResponse
    ) -> Operation[Any] | None:
        """The personal-data operation whose answer this is, when it disclosed anything."""
        if not self.carries_personal_data(request, response):
            return None
        resolved = resolve(request)
        return None if resolved is None else resolved.operation

    def carries_personal_data(self, request: web.Request, response: web.StreamResponse) -> bool:
        if not 200 <= response.status < 300 or "operation" not in request.match_info:
            return False
        resolved = resolve(request)
        return resolved is not None and resolved.operation.personal_data

    async def observe(
        self, request: web.Request, response: web.StreamResponse, duration: float
    ) -> web.StreamResponse | None:
        if not is_audited(request.path):
            return None
        event = await self.event(request, response, duration)
        if self.carries_personal_data(request, response):
            room = self.spool.has_room(DISCLOSURE_SHARE)
            if room and await self._record(orjson.dumps(event), event["event_id"]):
                # The receipt: a local system files it with its case; `lgsp audit search
                # --receipt` and subject access find the record by it.
                response.headers[RECEIPT_HEADER] = event["event_id"]
                return None
            if room:
                # Its 200 event may still land (unconfirmed, not spooled): then the store keeps
                # that one. Only a failing spool disk (or one filled meanwhile) gets here.
                log.error("audit.status_uncertain", event_id=event["event_id"])
            # Neither confirmed nor kept: nothing personal leaves, and the record says so.
            withheld = self._withheld(event, is_write(request))
            event["status"] = withheld.status
            self.publish_in_background(orjson.dumps(event), event["event_id"])
            return withheld
        self.publish_in_background(orjson.dumps(event), event["event_id"])
        return None

    def _withheld(self, event: dict[str, Any], write: bool) -> web.Response:
        if write:  # carried out, but its answer is not disclosed: not a "not done"
            problem = Problem(
                type=ProblemType.OUTCOME_UNKNOWN,
                title="Outcome unknown",
                status=503,
                detail="the answer could not be recorded in the audit trail and is withheld; "
                "retry with the same Idempotency-Key",
                source="bus",
            )
        else:
            problem = Problem(
                type=ProblemType.UNAVAILABLE,
                title="Service unavailable",
                status=503,
                detail="the access could not be recorded in the audit trail; nothing was disclosed",
                source="bus",
            )
        return problem_response(
            problem,
            event["request_id"],
            {"Retry-After": str(self.bus.retry_after)},
        )

    def publish_in_background(self, body: bytes, event_id: str) -> None:
        """Record an event without making anyone wait (confirmed, or else spooled)."""
        task = asyncio.create_task(self._record(body, event_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _record(self, body: bytes, event_id: str) -> bool:
        """Confirmed by the broker, or else kept in the spool: True when either holds it."""
        if self.bus.connected.is_set() and await self._publish(body, event_id):
            return True
        if await self.spool.append(body):
            return True
        self.unrecorded += 1
        log.error("audit.event_unrecorded", event_id=event_id)
        return False

    async def _publish(self, body: bytes, event_id: str) -> bool:
        if self._batcher is None:
            bus = self.bus
            wait = self.settings.publish_timeout

            async def publish(batch: bytes, message_id: str) -> None:
                await bus.publish_audit(batch, message_id=message_id, wait=wait)

            self._batcher = AuditBatcher(publish)
        try:
            await self._batcher.submit(body, self.settings.publish_timeout)
        except Exception as exc:  # any failure: the spool is next
            detail = exc.problem.detail if isinstance(exc, ProblemError) else type(exc).__name__
            log.warning("audit.publish_unconfirmed", event_id=event_id, detail=detail)
            return False
        return True

    async def _drain_spool(self) -> None:
        """While the gateway runs: hand spooled events (ours and any left behind by gateway
        processes that are gone) to `lgsp.audit` whenever the broker is connected."""
        bus = self.bus
        delay = DRAIN_INTERVAL
        while not self._closing.is_set():
            await bus.connected.wait()
            if self.spool.has_work():
                try:
                    await self.spool.drain(self._publish_spooled)
                    delay = DRAIN_INTERVAL
                except Exception as exc:  # the broker is not confirming: try again later
                    log.warning("audit.spool_drain_failed", error=type(exc).__name__)
                    delay = min(delay * 2, MAX_DRAIN_DELAY)
            self.spool.appended.clear()
            # asyncio.timeout, not wait_for: on 3.11 a cancel that meets wait_for's own timeout
            # comes out as TimeoutError, and this loop would never end.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(delay):
                    await self.spool.appended.wait()

    async def _publish_spooled(self, batch: bytes, message_id: str) -> None:
        await self.bus.publish_audit(
            batch, message_id=message_id, wait=self.settings.publish_timeout
        )

    def register_metrics(self, registry: CollectorRegistry) -> None:
        """The spool's size and the events nothing could keep, on the gateway's /metrics."""
        spool = self.spool
        Gauge(
            "lgsp_audit_spool_bytes",
            "Bytes of audit events in the local spool (every gateway process on this host).",
            registry=registry,
        ).set_function(lambda: float(spool.directory_bytes()))
        Gauge(
            "lgsp_audit_spool_events",
            "Audit events this process spooled and the broker has not yet confirmed.",
            registry=registry,
        ).set_function(lambda: float(spool.events))
        Gauge(
            "lgsp_audit_events_unrecorded",
            "Audit events neither confirmed nor spooled since start (should stay 0).",
            registry=registry,
        ).set_function(lambda: float(self.unrecorded))

    async def drain(self, limit: float | None = None) -> None:
        """Wait for background publishes (at shutdown, before the bus closes)."""
        if not self._background:
            return
        pending = set(self._background)
        _, late = await asyncio.wait(pending, timeout=limit)
        for task in late:
            task.cancel()
        if late:
            log.error("audit.events_lost_at_shutdown", events=len(late))

    async def lifecycle(self, _app: web.Application) -> AsyncIterator[None]:
        """For aiohttp's `cleanup_ctx`: drain the spool while running; at the end, wait for
        background records (bounded: each ends confirmed or spooled)."""
        drainer = asyncio.create_task(self._drain_spool(), name="audit-spool-drain")
        yield
        with contextlib.suppress(Exception):
            await self.drain(self.settings.publish_timeout + 5)
        self._closing.set()
        drainer.cancel()
        await asyncio.wait({drainer}, timeout=self.settings.publish_timeout + 1)
        if drainer.done() and not drainer.cancelled():
            with contextlib.suppress(Exception):
                drainer.result()
        self.spool.close()


AUDIT = web.AppKey("audit", AuditPublisher)
