"""The fault suite's ledger: what callers sent and got, what happened at the mock, what was audited.

Built on the shared call ledger (tests/support/ledger.py: each call bounded,
hung calls counted, statuses and lateness). A `FaultLedger` drives a bounded,
paced load of reads (`citizen-verify`) and writes (`residence-declaration`,
one `Idempotency-Key` each) through a running stack
while a test injects a fault, then settles the account the way a careful
caller would: every write whose answer left its outcome open (a 5xx, or no
answer) is sent again with the same key once the fault is over. It then
counts, for the printed ledger and the bar every fault test must meet:

- answers by status (and problem type), calls hung past deadline + margin,
  answers that came after the deadline;
- write effects per key at the population mock (its declarations store is
  keyed by the Idempotency-Key), and whether a write answered "not done"
  (`service-unavailable`) had been done anyway before its retry;
- audit records against answered calls: one each, with the status the caller got;
- messages left in the request, audit and dead-letter queues.

The bar: lost = 0, duplicated = 0, audit records = answered calls with matching
statuses, 0 hung, and no "not done" that was done.
"""

from __future__ import annotations

import asyncio
import re
import secrets
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aiohttp

from gateway.audit.store import AuditStore
from schemas.envelope import AUDIT_QUEUE, DEAD_LETTER_QUEUE, request_queue
from tests.support.ledger import Ledger
from tests.support.stack import Stack

VERIFY = "/v1/population/citizen-verify"
DECLARE = "/v1/population/residence-declaration"
# 503s that promise nothing was done
NOT_DONE = ("service-unavailable", "no-route", "central-unavailable")
QUEUES = (*(request_queue(a) for a in ("population", "business", "insurance")), AUDIT_QUEUE)


@dataclass
class Call:
    kind: str  # "read" or "write"
    key: str | None
    phase: str  # "load" or "retry"
    request_id: str
    status: int | None = None  # None: no answer by deadline + margin
    problem: str = ""  # the problem type's last segment, for errors
    elapsed: float = 0.0
    declaration_id: str | None = None
    detail: str = ""


@dataclass
class FaultLedger:
    scenario: str
    stack: Stack
    citizen: dict[str, Any]
    timeout: float = 3.0  # LGSP-Timeout of every call
    margin: float = 3.0  # a call with no answer by timeout + margin is hung
    answers: list[Call] = field(default_factory=list)
    effects: dict[str, int] = field(default_factory=dict)  # key -> declarations at the mock
    done_before_retry: Counter[str] = field(default_factory=Counter)
    audit: dict[str, list[int]] = field(default_factory=dict)  # request id -> statuses recorded
    queues: dict[str, int] = field(default_factory=dict)
    started: float = field(default_factory=time.monotonic)
    calls: Ledger = field(init=False)

    def __post_init__(self) -> None:
        # Answers later than the deadline by more than scheduling noise count as late.
        self.calls = Ledger(
            self.scenario, hang_after=self.timeout + self.margin, deadline=self.timeout + 0.25
        )

    def declaration(self) -> dict[str, Any]:
        return {
            "personal_id": self.citizen["personal_id"],
            "full_name": self.citizen["full_name"],
            "address": {
                "detail": "Số 5 Lạch Tray",
                "province_code": "31",
                "district_code": "304",
                "ward_code": "11356",
            },
            "from_date": "2026-01-01",
            "to_date": "2026-12-31",
            "reason": "Đi làm",
        }

    async def call(self, kind: str, key: str | None, phase: str) -> Call:
        entry = Call(kind, key, phase, f"fault.{secrets.token_hex(12)}")
        headers = {"LGSP-Timeout": str(self.timeout), "X-Request-ID": entry.request_id}
        if key is not None:
            headers["Idempotency-Key"] = key
        path, body = (DECLARE, self.declaration()) if kind == "write" else (VERIFY, self.citizen)
        answer = await self.calls.call(self.stack.post(path, body, headers))
        self.answers.append(entry)
        if answer is None:  # hung: counted by the call ledger too
            return entry
        entry.status, entry.elapsed = answer.status, answer.seconds
        entry.request_id = answer.request_id or entry.request_id
        document = answer.body if isinstance(answer.body, dict) else {}
        if answer.status >= 400:
            entry.problem = str(document.get("type", "")).rsplit("/", 1)[-1]
            entry.detail = str(document.get("errors") or document.get("detail", ""))[:200]
        elif kind == "write":
            entry.declaration_id = document.get("declaration_id")
        return entry

    async def load(self, total: int, duration: float) -> None:
        """`total` calls at an even pace over `duration` seconds, every other one a write."""
        tag = (
            re.sub(r"[^A-Za-z0-9]+", "-", self.scenario).strip("-")[:40]
            + "."
            + secrets.token_hex(4)
        )

        async def one(i: int) -> None:
            await asyncio.sleep(i * duration / total)  # the schedule of an open-loop load
            if i % 2:
                await self.call("write", f"{tag}-{i:04d}", "load")
            else:
                await self.call("read", None, "load")

        await asyncio.gather(*(one(i) for i in range(total)))

    def last_by_key(self) -> dict[str, Call]:
        last: dict[str, Call] = {}
        for a in self.answers:
            if a.key is not None:
                last[a.key] = a
        return last

    async def settle(self, idle: Callable[[], Awaitable[bool]], within: float = 60.0) -> None:
        """After the fault: wait until nothing is in flight, note which open writes were done
        anyway, then retry every write left open with its key until it gets a final answer."""
        async with asyncio.timeout(within):
            while not await idle():
                await asyncio.sleep(0.1)
        first = {a.key: a for a in reversed(self.answers) if a.key is not None}
        await self.count_effects()
        for key, a in first.items():
            if a.status is None or a.status >= 500:
                label = a.problem if a.status else "hung"
                self.done_before_retry[f"{a.status} {label}"] += self.effects[key]
        async with asyncio.timeout(within):
            while open_keys := [
                k for k, a in self.last_by_key().items() if a.status is None or a.status >= 500
            ]:
                await asyncio.gather(*(self.call("write", k, "retry") for k in open_keys))
                if any(a.status is None or a.status >= 500 for a in self.last_by_key().values()):
                    await asyncio.sleep(0.5)
        await self.count_effects()

    async def count_effects(self) -> None:
        url = f"{self.stack.mock_urls['population']}/_admin/residence-declarations"
        keys = sorted(self.last_by_key())
        async with aiohttp.ClientSession() as session:

            async def count(key: str) -> None:
                async with session.get(url, params={"idempotency_key": key}) as r:
                    self.effects[key] = int((await r.json())["count"])

            await asyncio.gather(*(count(k) for k in keys))

    async def collect(self, store: AuditStore, within: float = 30.0) -> None:
        """The audit records of the answered calls (waiting for the writer to catch up), and
        what is left in the queues."""
        answered = [a for a in self.answers if a.status is not None]
        async with asyncio.timeout(within):
            while True:
                records = await asyncio.to_thread(lambda: list(store.search(limit=100_000)))
                self.audit = {}
                for r in records:
                    self.audit.setdefault(str(r["request_id"]), []).append(int(r["status"]))
                if all(a.request_id in self.audit for a in answered):
                    break
                await asyncio.sleep(0.2)
        connection = await aio_pika.connect(self.stack.settings.bus.url.get_secret_value())
        async with connection:
            channel = await connection.channel()
            for name in (*QUEUES, DEAD_LETTER_QUEUE):
                queue = await channel.declare_queue(name, passive=True)
                self.queues[name] = queue.declaration_result.message_count or 0

    # -- the account -----------------------------------------------------------------------

    def figures(self) -> dict[str, Any]:
        answered = [a for a in self.answers if a.status is not None]
        last = self.last_by_key()
        first_ok: dict[str, str | None] = {}
        for a in self.answers:
            if a.key is not None and a.status == 200 and a.key not in first_ok:
                first_ok[a.key] = a.declaration_id
        changed = sum(
            1
            for a in self.answers
            if a.key in first_ok and a.status == 200 and a.declaration_id != first_ok[a.key]
        )
        by_status = {a.request_id: a.status for a in answered}
        return {
            "sent": len(self.answers),
            "hung": self.calls.hung,
            "past_deadline": self.calls.past_deadline,
            "lost": sum(1 for k, a in last.items() if a.status != 200 or self.effects[k] != 1),
            "duplicated": sum(max(n - 1, 0) for n in self.effects.values()) + changed,
            "not_done_but_done": sum(
                n for label, n in self.done_before_retry.items() if label.split()[-1] in NOT_DONE
            ),
            "audit_missing": sum(a.request_id not in self.audit for a in answered),
            "audit_duplicated": sum(len(s) - 1 for s in self.audit.values() if len(s) > 1),
            "audit_status_mismatch": sum(
                1 for rid, s in by_status.items() if rid in self.audit and self.audit[rid] != [s]
            ),
        }

    def report(self) -> str:
        f = self.figures()
        statuses = Counter(
            f"{a.status} {a.problem}".strip() if a.status else "hung" for a in self.answers
        )
        phases = Counter(a.phase for a in self.answers)
        details = {f"{a.status} {a.problem}": a.detail for a in self.answers if a.detail}
        lines = [
            f"== fault ledger: {self.scenario} (deadline {self.timeout:.0f}s, "
            f"{time.monotonic() - self.started:.1f}s) ==",
            f"requests sent: {f['sent']} (load {phases['load']}, retries {phases['retry']})",
            "answers by status: " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items())),
            f"hung (no answer by {self.timeout + self.margin:.0f}s): {f['hung']}; "
            f"past deadline (+0.25s): {f['past_deadline']}",
            f"writes: {len(self.effects)} keys; effects per key at the mock: "
            + ", ".join(f"{n}x{c}" for n, c in sorted(Counter(self.effects.values()).items())),
            "open first answers done before their retry: "
            + (", ".join(f"{k}: {v}" for k, v in sorted(self.done_before_retry.items())) or "-"),
            f"audit: {sum(map(len, self.audit.values()))} records of "
            f"{sum(a.status is not None for a in self.answers)} answered calls; missing "
            f"{f['audit_missing']}, duplicated {f['audit_duplicated']}, status mismatches "
            f"{f['audit_status_mismatch']}",
            "messages left: " + ", ".join(f"{q} {n}" for q, n in self.queues.items()),
            *(f"  {k}: {v}" for k, v in sorted(details.items()) if k[0] == "4"),
            f"lost {f['lost']}, duplicated {f['duplicated']}, hung {f['hung']}, "
            f"'not done' but done {f['not_done_but_done']}",
        ]
        return "\n".join(lines)

    def check(self) -> None:
        """Print the ledger and hold it to the bar."""
        print("\n" + self.report())
        f = self.figures()
        self.calls.report(lost=f["lost"], duplicated=f["duplicated"])  # the one-line form
        bar = (
            "lost",
            "duplicated",
            "hung",
            "not_done_but_done",
            "audit_missing",
            "audit_duplicated",
            "audit_status_mismatch",
        )
        assert {k: f[k] for k in bar} == dict.fromkeys(bar, 0), self.report()
