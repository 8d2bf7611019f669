"""The gateway's side of the audit trail: one event per `/v1` and `/token` call, published.

An observer (gateway/edge.py) sees every answer, refusals included, and
publishes one event to `lgsp.audit` with publisher confirms and a bounded
wait. An answer carrying personal data waits for the confirm and becomes a
503 when it does not come: nothing personal leaves unrecorded. Every other
event is published in the background, so refusals cost the caller nothing.

Subject identifiers and request bodies are recorded as keyed hashes
(HMAC-SHA256 with `audit.subject_key`): who accessed whose record can be
looked up by someone holding the key, and read by nobody.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from aiohttp import web

from adapters.interface import Operation
from adapters.logs import mask_text
from gateway.audit_batch import AuditBatcher
from gateway.ids import new_id
from gateway.operations import BUS, REGISTRY
from gateway.problems import ProblemError, problem_response
from gateway.state import CLIENT_ID, PURPOSE, REQUEST_ID, SUBJECT
from gateway.tokens import CLAIMED_CLIENT_ID
from schemas.audit import keyed_hash, subject_hash
from schemas.problems import Problem, ProblemType
from schemas.security import AuditSettings

__all__ = ["RECEIPT_HEADER", "AuditPublisher", "keyed_hash", "subject_hash"]

log = structlog.get_logger("lgsp.audit")

AUDITED_PREFIX = "/v1/"
OAUTH_PATH = "/token"
# On every answer that disclosed personal data: the id of the audit record that holds it.
RECEIPT_HEADER = "LGSP-Audit-Receipt"
# The response's fields outside every field group: always part of a disclosure.
BASE_GROUP = "base"


def is_audited(path: str) -> bool:
    return path.startswith(AUDITED_PREFIX) or path in (OAUTH_PATH, "/v1")


def operation_of(request: web.Request) -> str:
    """`adapter/operation`, `token`, `services`, or the (masked) path of an unrouted call."""
    if request.path == OAUTH_PATH:
        return "token"
    adapter = request.match_info.get("adapter")
    operation = request.match_info.get("operation")
    if adapter is not None and operation is not None:
        if request.app[REGISTRY].operation(adapter, operation) is not None:
            return f"{adapter}/{operation}"
        # Unknown: whatever the caller put in the URL, never an identifier in clear.
        return mask_text(f"{adapter}/{operation}")[:128]
    if request.path == "/v1/services":
        return "services"
    return mask_text(request.path)[:128]


async def _request_bytes(request: web.Request) -> bytes:
    try:
        return await request.read()  # cached when the handler read it already
    except (web.HTTPException, ConnectionError, ValueError):
        return b""


class AuditPublisher:
    def __init__(self, settings: AuditSettings) -> None:
        self.settings = settings
        self.key = settings.subject_key.get_secret_value().encode()
        if not self.key:
            # Never hash identifiers with an empty key (a dictionary attack away from clear);
            # a key of this process only keeps them unreadable, though not searchable.
            log.warning("audit.no_subject_key", fix="run `lgsp init` or set audit.subject_key")
            self.key = secrets.token_bytes(32)
        self._background: set[asyncio.Task[bool]] = set()
        self._batcher: AuditBatcher | None = None

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
            **self._client_facts(request, response),
        }

    def _client_facts(
        self, request: web.Request, response: web.StreamResponse
    ) -> dict[str, str | None]:
        """The client's registered name and confidentiality, and the field groups disclosed."""
        from gateway.auth import CLIENT  # here: gateway.auth imports this module

        client = request.get(CLIENT)
        if client is None:
            return {}
        facts: dict[str, str | None] = {
            "client_title": client.title or None,
            "disclose_after": client.disclose_after,
        }
        operation = self._personal_operation(request, response)
        if operation is not None:
            granted = client.rights.groups(request.match_info["adapter"], operation.name)
            groups = [g for g in sorted(operation.field_groups) if "*" in granted or g in granted]
            facts["disclosed"] = ",".join([BASE_GROUP, *groups])
        return facts

    def _personal_operation(
        self, request: web.Request, response: web.StreamResponse
    ) -> Operation[Any] | None:
        if not 200 <= response.status < 300:
            return None
        adapter = request.match_info.get("adapter")
        name = request.match_info.get("operation")
        if adapter is None or name is None:
            return None
        operation = request.app[REGISTRY].operation(adapter, name)
        return operation if operation is not None and operation.personal_data else None

    def carries_personal_data(self, request: web.Request, response: web.StreamResponse) -> bool:
        return self._personal_operation(request, response) is not None

    async def observe(
        self, request: web.Request, response: web.StreamResponse, duration: float
    ) -> web.StreamResponse | None:
        if not is_audited(request.path):
            return None
        event = await self.event(request, response, duration)
        body = orjson.dumps(event)
        if self.carries_personal_data(request, response):
            if await self._publish(request.app, body, event["event_id"]):
                # The receipt: a local system files it with its case; `lgsp audit search
                # --receipt` and subject access find the record by it.
                response.headers[RECEIPT_HEADER] = event["event_id"]
                return None
            return problem_response(
                Problem(
                    type=ProblemType.UNAVAILABLE,
                    title="Service unavailable",
                    status=503,
                    detail="the access could not be recorded in the audit trail; nothing was "
                    "disclosed",
                    source="bus",
                ),
                event["request_id"],
                {"Retry-After": str(request.app[BUS].retry_after)},
            )
        self.publish_in_background(request.app, body, event["event_id"])
        return None

    def publish_in_background(
        self, app: web.Application, body: bytes, event_id: str | None = None
    ) -> None:
        """Record an event without making anyone wait (riding out a broker outage)."""
        if event_id is None:
            event_id = str(orjson.loads(body)["event_id"])
        task = asyncio.create_task(self._publish_later(app, body, event_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _publish(
        self, app: web.Application, body: bytes, event_id: str, *, final: bool = True
    ) -> bool:
        if self._batcher is None:
            bus = app[BUS]
            wait = self.settings.publish_timeout

            async def publish(batch: bytes, message_id: str) -> None:
                await bus.publish_audit(batch, message_id=message_id, wait=wait)

            self._batcher = AuditBatcher(publish)
        try:
            await self._batcher.submit(body, self.settings.publish_timeout)
        except Exception as exc:  # any failure: the record is not made, so nothing personal leaves
            if final:
                detail = exc.problem.detail if isinstance(exc, ProblemError) else type(exc).__name__
                log.error("audit.publish_failed", event_id=event_id, detail=detail)
            return False
        return True

    async def _publish_later(self, app: web.Application, body: bytes, event_id: str) -> bool:
        """A background publish rides out a broker outage of up to `retry_window` seconds."""
        bus = app[BUS]
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.settings.retry_window
        while True:
            last = loop.time() >= give_up or bus.connected.is_set()
            if await self._publish(app, body, event_id, final=last):
                return True
            if last:
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bus.connected.wait(), max(give_up - loop.time(), 0))

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
        yield
        with contextlib.suppress(Exception):
            await self.drain(self.settings.publish_timeout + 1)
