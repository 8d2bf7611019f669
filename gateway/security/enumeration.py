"""The enumeration alarm (OWASP API6): a client touching more people than it normally does.

A ward office looks up the few dozen people whose cases it handles in a day;
a client walking through the population register touches thousands. So for
each authenticated client the gateway counts the distinct data subjects of
its answered personal-data calls within a sliding window
(`audit.enumeration_window` seconds). When the count passes the client's norm
(`subject_norm`, or `audit.enumeration_norm`), once per window:

- `lgsp_enumeration_alarms_total{client}` goes up (and
  `lgsp_client_distinct_subjects{client}` shows the count at every call);
- the operator dashboard lists the alarm (`GET /ops/alarms`);
- an audit record `alarm/enumeration` is written, naming the client and the
  call that crossed the norm.

It never blocks a call: a legitimate surge (a vaccination campaign) must not
stop public services; people decide. Subjects are kept as the audit trail's
keyed hashes, in memory, per gateway process (each process judges the calls
it answers).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge

from gateway.http.operations import resolve
from gateway.http.state import PURPOSE, REQUEST_ID, SUBJECT
from gateway.ids import new_id
from gateway.security.authentication import CLIENT
from schemas.audit import subject_hash
from schemas.security import AuditSettings

log = structlog.get_logger("lgsp.audit")

ALARM_OPERATION = "alarm/enumeration"


@dataclass(slots=True)
class Alarm:
    client_id: str
    distinct: int
    norm: int
    window: float
    raised_at: str  # ISO time

    def as_dict(self) -> dict[str, Any]:
        return {
            "client_id": self.client_id,
            "distinct_subjects": self.distinct,
            "norm": self.norm,
            "window_seconds": self.window,
            "raised_at": self.raised_at,
        }


class EnumerationWatch:
    """Distinct subjects per client in a sliding window; an alarm once per window."""

    def __init__(self, window: float, default_norm: int) -> None:
        self.window = window
        self.default_norm = default_norm
        # client -> subject hash -> last seen (monotonic), oldest first
        self._seen: dict[str, OrderedDict[str, float]] = {}
        self._alarms: dict[str, tuple[float, Alarm]] = {}

    def _expire(self, subjects: OrderedDict[str, float], now: float) -> None:
        while subjects:
            oldest = next(iter(subjects.values()))
            if now - oldest < self.window:
                break
            subjects.popitem(last=False)

    def seen(self, client_id: str, subject: str, norm: int, now: float) -> tuple[int, Alarm | None]:
        """Count one access; the distinct count now, and a new alarm when it just crossed."""
        norm = norm or self.default_norm
        subjects = self._seen.setdefault(client_id, OrderedDict())
        self._expire(subjects, now)
        subjects[subject] = now
        subjects.move_to_end(subject)
        if len(subjects) > norm + 1:
            # Enough to know the norm is passed; memory stays bounded by the norm.
            subjects.popitem(last=False)
        distinct = len(subjects)
        raised = self._alarms.get(client_id)
        if distinct <= norm or (raised is not None and now - raised[0] < self.window):
            return distinct, None
        alarm = Alarm(
            client_id, distinct, norm, self.window, datetime.now(UTC).isoformat(timespec="seconds")
        )
        self._alarms[client_id] = (now, alarm)
        return distinct, alarm

    def active(self, now: float) -> list[Alarm]:
        """Alarms raised within the last window, newest first."""
        recent = [(t, a) for t, a in self._alarms.values() if now - t < self.window]
        return [alarm for _, alarm in sorted(recent, key=lambda pair: -pair[0])]


def alarm_event(request: web.Request, alarm: Alarm) -> dict[str, Any]:
    purpose = request.get(PURPOSE)
    return {
        "event_id": new_id(),
        "time": datetime.now(UTC).isoformat(timespec="microseconds"),
        "request_id": request.get(REQUEST_ID, ""),
        "client_id": alarm.client_id,
        "authenticated": True,
        "operation": ALARM_OPERATION,
        "officer_id": purpose.officer_id if purpose else None,
        "procedure_code": purpose.procedure_code if purpose else None,
        "case_id": purpose.case_id if purpose else None,
        "subject_hash": None,
        "status": 200,
        "request_hash": None,
        "duration_ms": 0.0,
    }


class EnumerationAlarm:
    """The edge observer (after the audit trail's): counts, raises, records.

    `subject_key` is the audit trail's (subjects are counted as the hashes it records);
    `record(event, event_id)` puts an event on the audit trail without waiting.
    """

    def __init__(
        self,
        settings: AuditSettings,
        subject_key: bytes,
        record: Callable[[bytes, str], None],
        registry: CollectorRegistry,
    ) -> None:
        self.watch = EnumerationWatch(settings.enumeration_window, settings.enumeration_norm)
        self._key = subject_key
        self._record = record
        self.alarms = Counter(
            "lgsp_enumeration_alarms",
            "Times a client touched more distinct data subjects in the window than its norm.",
            ["client"],
            registry=registry,
        )
        self.distinct = Gauge(
            "lgsp_client_distinct_subjects",
            "Distinct data subjects a client touched within the enumeration window.",
            ["client"],
            registry=registry,
        )

    async def observe(
        self, request: web.Request, response: web.StreamResponse, _duration: float
    ) -> web.StreamResponse | None:
        subject = request.get(SUBJECT)
        client = request.get(CLIENT)
        if subject is None or client is None:
            return None
        if not 200 <= response.status < 300:
            return None
        resolved = resolve(request)
        if resolved is None or not resolved.operation.personal_data:
            return None
        hashed = subject_hash(self._key, str(subject))
        distinct, alarm = self.watch.seen(
            client.client_id, hashed, client.subject_norm, time.monotonic()
        )
        self.distinct.labels(client.client_id).set(distinct)
        if alarm is not None:
            self.alarms.labels(client.client_id).inc()
            log.warning(
                "audit.enumeration_alarm",
                client=client.client_id,
                distinct=alarm.distinct,
                norm=alarm.norm,
                window=alarm.window,
            )
            event = alarm_event(request, alarm)
            self._record(orjson.dumps(event), event["event_id"])
        return None


ENUMERATION = web.AppKey("enumeration_alarm", EnumerationAlarm)


async def alarms(request: web.Request) -> web.Response:
    """`GET /ops/alarms`: the alarms raised within the last window, newest first."""
    watch = request.config_dict[ENUMERATION].watch
    return web.json_response({"alarms": [a.as_dict() for a in watch.active(time.monotonic())]})
