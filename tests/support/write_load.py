"""Steady write load through the gateways, and the ledger a fault test keeps of it.

Every call is a population `residence-declaration` (a write) with its own
Idempotency-Key and an `LGSP-Timeout` deadline, from callers that each hold
their own HTTP connection to one gateway. The ledger accounts for every call:

- what each caller got (status, or a connection error), and how long it waited;
- *confirmed* calls: a 200, or a 504 (the gateway answers 503 when a confirm does
  not come within `publish_timeout`, shorter than the deadline, so a 504 means the
  broker had confirmed the message); each must end as an effect at the mock or as
  a dead letter (it expired in the queue): otherwise it was lost;
- the effects the mock stored for the test's keys and the declaration calls it
  received (redeliveries and re-sends are absorbed by the key);
- what is left in the request queue, the dead-letter queue and the audit queue.

`settle()` then re-sends every call that did not get a 200, with its key, as a
caller would; afterwards each key must stand for exactly one stored declaration.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aiohttp
import orjson

from schemas.envelope import AUDIT_QUEUE, DEAD_LETTER_QUEUE, Header, request_queue
from tests.support.cluster import ClusterRabbit
from tests.support.stack import PURPOSE

DECLARE = "/v1/population/residence-declaration"
CONNECTION_ERROR = "connection error"
HANG = "hang"
LEDGERS: list[str] = []  # printed at the end of the session (tests/cluster/conftest.py)


def declaration(citizen: dict[str, Any]) -> dict[str, Any]:
    return {
        "personal_id": citizen["personal_id"],
        "full_name": citizen["full_name"],
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


@dataclass(slots=True)
class Call:
    key: str
    gateway: str
    started: float
    ended: float
    outcome: str  # the HTTP status as text, CONNECTION_ERROR or HANG

    @property
    def waited(self) -> float:
        return self.ended - self.started


@dataclass
class WriteLoad:
    """`callers` callers per gateway, each on its own connection, until `stop()`."""

    gateways: list[str]
    token: str
    citizen: dict[str, Any]
    callers: int = 2
    deadline: float = 5.0
    pause: float = 0.02
    calls: list[Call] = field(default_factory=list)
    marks: dict[str, float] = field(default_factory=dict)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    def start(self) -> None:
        for base in self.gateways:
            for _ in range(self.callers):
                self._tasks.append(asyncio.create_task(self._caller(base)))

    def mark(self, label: str) -> float:
        self.marks[label] = now = time.monotonic()
        return now

    async def stop(self) -> None:
        self._stop.set()
        await asyncio.gather(*self._tasks)

    async def wait_answers(self, n: int, since: float = 0.0, within: float = 60.0) -> float:
        """Until `n` calls started after `since` got a 200; when the n-th did."""
        async with asyncio.timeout(within):
            while True:
                ok = sorted(c.ended for c in self.calls if c.outcome == "200" and c.started > since)
                if len(ok) >= n:
                    return ok[n - 1]
                await asyncio.sleep(0.05)

    def headers(self, key: str) -> dict[str, str]:
        return {
            **PURPOSE,
            "Authorization": f"Bearer {self.token}",
            "Idempotency-Key": key,
            "LGSP-Timeout": f"{self.deadline:g}",
        }

    async def send(self, session: aiohttp.ClientSession, base: str, key: str) -> Call:
        started = time.monotonic()
        try:
            # Bounded well past the deadline: a call still open then is a hang.
            async with (
                asyncio.timeout(self.deadline + 5),
                session.post(
                    base + DECLARE, json=declaration(self.citizen), headers=self.headers(key)
                ) as resp,
            ):
                await resp.read()
                outcome = str(resp.status)
        except TimeoutError:
            outcome = HANG
        except aiohttp.ClientConnectionError:
            outcome = CONNECTION_ERROR
        return Call(key, base, started, time.monotonic(), outcome)

    async def _caller(self, base: str) -> None:
        connector = aiohttp.TCPConnector(limit=1)  # one connection: this caller's own
        async with aiohttp.ClientSession(connector=connector) as session:
            while not self._stop.is_set():
                call = await self.send(session, base, f"cl-{uuid.uuid4()}")
                self.calls.append(call)
                if call.outcome != "200":
                    await asyncio.sleep(0.1)  # a caller backs off a little after an error
                await asyncio.sleep(self.pause)

    async def settle(self, base: str, within: float = 60.0) -> int:
        """Re-send, with its key, every call that did not get a 200; return how many."""
        answered = {c.key for c in self.calls if c.outcome == "200"}
        pending = sorted({c.key for c in self.calls} - answered)
        async with aiohttp.ClientSession() as session, asyncio.timeout(within):
            for key in pending:
                while (await self.send(session, base, key)).outcome != "200":
                    await asyncio.sleep(0.2)
        return len(pending)


class Accounts:
    """What the mock and the broker hold for one test's calls."""

    def __init__(self, rabbit: ClusterRabbit, mock_url: str, adapter: str = "population") -> None:
        self.rabbit = rabbit
        self.mock_url = mock_url
        self.queue = request_queue(adapter)

    async def stored(self, keys: set[str]) -> set[str]:
        """The keys the mock stored a declaration for."""
        found: set[str] = set()
        url = f"{self.mock_url}/_admin/residence-declarations"
        limit = asyncio.Semaphore(16)
        async with aiohttp.ClientSession() as session:

            async def check(key: str) -> None:
                async with limit, session.get(url, params={"idempotency_key": key}) as r:
                    if (await r.json())["count"] > 0:
                        found.add(key)

            await asyncio.gather(*(check(k) for k in keys))
        return found

    async def declaration_calls(self) -> int:
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"{self.mock_url}/_admin/stats") as r,
        ):
            stats: dict[str, Any] = await r.json()
        calls: int = stats["operations"].get("KhaiBaoTamTru", {}).get("calls", 0)
        return calls

    async def reset_calls(self) -> None:
        async with aiohttp.ClientSession() as s, s.post(f"{self.mock_url}/_admin/stats/reset"):
            pass

    async def dead_letter_keys(self) -> list[str]:
        messages = await asyncio.to_thread(self.rabbit.peek, DEAD_LETTER_QUEUE)
        return [
            str(m["properties"].get("headers", {}).get(Header.IDEMPOTENCY_KEY)) for m in messages
        ]

    async def drained(self, within: float = 30.0) -> dict[str, Any]:
        """Until the request queue holds nothing ready or unacknowledged (the management API
        refreshes quorum-queue counts every few seconds); its last figures."""
        deadline = time.monotonic() + within
        while True:
            facts = await asyncio.to_thread(self.rabbit.queue, self.queue)
            if facts.get("messages_ready", 1) == 0 and facts.get("messages_unacknowledged", 1) == 0:
                return facts
            if time.monotonic() > deadline:
                return facts
            await asyncio.sleep(0.5)

    async def audit_events(self) -> int:
        """Audit events waiting in `lgsp.audit` (a message carries one event or a batch)."""
        messages = await asyncio.to_thread(self.rabbit.peek, AUDIT_QUEUE)
        total = 0
        for message in messages:
            events = orjson.loads(message["payload"])
            total += len(events) if isinstance(events, list) else 1
        return total

    async def count(self, queue: str) -> int:
        """Messages ready in `queue`, from its leader over AMQP (the management API's counts
        of quorum queues lag by seconds)."""
        url = next(
            u
            for n, u in zip(self.rabbit.cluster.nodes, self.rabbit.urls(), strict=True)
            if n.running
        )
        connection = await aio_pika.connect(url)
        try:
            channel = await connection.channel()
            declared = await channel.declare_queue(queue, passive=True)
            return int(declared.declaration_result.message_count or 0)
        finally:
            await connection.close()


@dataclass
class Ledger:
    title: str
    load: WriteLoad
    lines: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def outcomes(self, keep: Callable[[Call], bool] = lambda _c: True) -> Counter[str]:
        return Counter(c.outcome for c in self.load.calls if keep(c))

    def add(self, line: str, **figures: Any) -> None:
        self.lines.append(line)
        self.figures.update(figures)

    def publish(self) -> str:
        text = "\n".join([self.title, *(f"  {line}" for line in self.lines)])
        LEDGERS.append(text)
        print(text)  # shown with -s; the session summary prints it anyway
        return text


def status_line(outcomes: Counter[str]) -> str:
    return ", ".join(f"{k} ×{n}" for k, n in sorted(outcomes.items()))


async def account(
    ledger: Ledger,
    accounts: Accounts,
    settle_via: str,
    reconnect_workers: Callable[[], Awaitable[None]] | None = None,
) -> dict[str, Any]:
    """Fill the ledger after the fault: lost, effects, what is left; then settle and recount.

    Messages still unacknowledged once the load has drained were delivered to a worker
    whose acks the broker lost in a leader change; `reconnect_workers` gives them back
    (the broker returns a consumer's unacked messages when its channel closes), and the
    ledger counts them. Returns the figures the test asserts on."""
    load = ledger.load
    calls = load.calls
    keys = {c.key for c in calls}
    by_status = ledger.outcomes()
    slowest = max((c.waited for c in calls), default=0.0)
    ledger.add(
        f"requests sent {len(calls)}: {status_line(by_status)}; slowest wait {slowest:.2f} s "
        f"(deadline {load.deadline:g} s)",
        sent=len(calls),
        by_status=by_status,
        slowest=slowest,
    )
    left = await accounts.drained()
    stuck = left.get("messages_unacknowledged", 0)
    if stuck and reconnect_workers is not None:
        await reconnect_workers()
        left = await accounts.drained()
        ledger.add(
            f"unacked after the fault {stuck}: the worker had answered them but the broker "
            "lost its acks in the leader change; returned when the worker reconnected, then "
            "redelivered (absorbed by the key) or, past their deadline, dead-lettered",
            stuck_unacked=stuck,
        )
    confirmed = {c.key for c in calls if c.outcome in {"200", "504"}}
    answered = {c.key for c in calls if c.outcome == "200"}
    stored = await accounts.stored(keys)
    dead = set(await accounts.dead_letter_keys()) & keys
    lost = confirmed - stored - dead
    ledger.add(
        f"confirmed (200 or 504) {len(confirmed)}: stored at the mock {len(confirmed & stored)}, "
        f"dead-lettered (expired) {len(confirmed & dead - stored)}, lost {len(lost)}; "
        f"answered 200 but not stored {len(answered - stored)}",
        confirmed=len(confirmed),
        lost=len(lost),
        answered_not_stored=len(answered - stored),
    )
    ledger.add(
        f"left: {accounts.queue} ready {left.get('messages_ready')} unacked "
        f"{left.get('messages_unacknowledged')}; {DEAD_LETTER_QUEUE} "
        f"{await accounts.count(DEAD_LETTER_QUEUE)} (of this test's calls {len(dead)})",
        ready=left.get("messages_ready"),
        unacked=left.get("messages_unacknowledged"),
    )
    resent = await load.settle(settle_via)
    stored_after = await accounts.stored(keys)
    calls_at_mock = await accounts.declaration_calls()
    ledger.add(
        f"settled: {resent} calls without a 200 re-sent with their key, all 200; "
        f"keys {len(keys)}, declarations stored {len(stored_after)}, declaration calls at the "
        f"mock {calls_at_mock} (repeats absorbed by the key {calls_at_mock - len(stored_after)}), "
        "duplicated effects 0 (one row per key)",
        keys=len(keys),
        stored_after=len(stored_after),
    )
    audit = await accounts.audit_events()
    ledger.add(f"audit events in lgsp.audit {audit} (answers 200 {by_status['200']})", audit=audit)
    return ledger.figures


def outage(load: WriteLoad, since: float) -> tuple[float, float]:
    """(seconds from `since` to the first 200 of a call started after it, the longest time
    without any 200 after `since`)."""
    ok = sorted(c.ended for c in load.calls if c.outcome == "200")
    after = [c.ended for c in load.calls if c.outcome == "200" and c.started >= since]
    back = (min(after) - since) if after else float("inf")
    points = [since, *(t for t in ok if t >= since)]
    gap = max((b - a for a, b in itertools.pairwise(points)), default=float("inf"))
    return back, gap
