"""What a fault or attack test saw, counted and printed: statuses, hung calls, audit records.

Each call goes through `Ledger.call`, bounded by `hang_after` seconds: a call that
takes longer is counted as hung (never awaited forever). `audit_events` drains
the audit queue of the test's vhost, so a test can set the records beside the
calls it answered.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any

import aio_pika
import aiohttp
import orjson

from schemas.envelope import AUDIT_QUEUE
from tests.support.rabbit import Rabbit


@dataclass
class Answer:
    status: int
    seconds: float
    body: Any
    headers: dict[str, str]
    request_id: str


@dataclass
class Ledger:
    name: str
    hang_after: float = 15.0
    deadline: float = 10.0
    answers: list[Answer] = field(default_factory=list)
    hung: int = 0

    async def call(self, request: Awaitable[aiohttp.ClientResponse]) -> Answer | None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self.hang_after):
                response = await request
                raw = await response.read()
        except TimeoutError:
            self.hung += 1
            return None
        seconds = time.perf_counter() - started
        try:
            body: Any = orjson.loads(raw) if raw else None
        except orjson.JSONDecodeError:
            body = raw.decode(errors="replace")
        answer = Answer(
            response.status,
            seconds,
            body,
            dict(response.headers),
            response.headers.get("X-Request-ID", ""),
        )
        self.answers.append(answer)
        return answer

    @property
    def statuses(self) -> Counter[int]:
        return Counter(a.status for a in self.answers)

    @property
    def past_deadline(self) -> int:
        return sum(1 for a in self.answers if a.seconds > self.deadline)

    def report(self, **extra: Any) -> str:
        parts = [
            f"calls={len(self.answers) + self.hung}",
            "by_status=" + ",".join(f"{s}:{n}" for s, n in sorted(self.statuses.items())),
            f"hung={self.hung}",
            f"past_deadline={self.past_deadline}",
            *(f"{k}={v}" for k, v in extra.items()),
        ]
        line = f"LEDGER {self.name}: " + " ".join(parts)
        print(line)
        return line


async def audit_events(rabbit: Rabbit, expected: int, within: float = 15.0) -> list[dict[str, Any]]:
    """The audit events in the queue: at least `expected` of them, or what came `within` s."""
    connection = await aio_pika.connect(rabbit.url)
    events: list[dict[str, Any]] = []
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(AUDIT_QUEUE, ensure=False)
        async with asyncio.timeout(within):
            while len(events) < expected:
                message = await queue.get(fail=False, no_ack=True)
                if message is None:
                    await asyncio.sleep(0.05)
                    continue
                # One event or, from the gateway's group commit, a list of them.
                value = orjson.loads(message.body)
                events.extend(value if isinstance(value, list) else [value])
        # Nothing more than expected: a second record of a call would show here.
        while (message := await queue.get(fail=False, no_ack=True)) is not None:
            value = orjson.loads(message.body)
            events.extend(value if isinstance(value, list) else [value])
    except TimeoutError:
        pass
    finally:
        await connection.close()
    return events
