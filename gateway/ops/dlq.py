"""Dead letters operators can act on: list, show (masked), replay, purge.

Messages reach `lgsp.dead-letter` two ways: the worker dead-letters what can
never succeed with an `x-lgsp-reason` header (undecodable, schema-invalid,
unknown-operation, expired, adapter-error ...) and `x-lgsp-origin-queue`; the
broker dead-letters with an `x-death` header (rejected, expired,
delivery_limit) what expired in a queue or exceeded the delivery limit.

Browsing takes messages without acknowledging them and gives them back when
done (the channel closes), so a `list` changes nothing but the broker's
delivery count. A replay republishes each selected message to its original
queue on a confirming channel and acknowledges (removes) the dead letter only
after the broker confirmed the copy: a crash in between duplicates, never
loses.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aio_pika
import orjson
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage
from aio_pika.exceptions import DeliveryError, PublishError

from adapters.connection import BROKER_ERRORS
from adapters.logs import MASK, PERSONAL_KEYS, mask_text
from gateway.ops.queues import AmqpLink
from schemas.config import OpsSettings
from schemas.envelope import DEAD_LETTER_QUEUE, REQUESTS_EXCHANGE, Header

BROWSE_LIMIT = 10_000
# Header fields that describe a past death, dropped from a replayed copy.
DEATH_HEADERS = frozenset(
    {
        "x-death",
        "x-first-death-exchange",
        "x-first-death-queue",
        "x-first-death-reason",
        "x-last-death-exchange",
        "x-last-death-queue",
        "x-last-death-reason",
        "x-delivery-count",
        Header.REASON,
        Header.ORIGIN_QUEUE,
    }
)
REPLAYED = "x-lgsp-replayed"
# Body keys with these parts are personal whatever their name says exactly.
PERSONAL_KEY_PARTS = ("name", "birth", "address", "phone", "email", "code", "number", "_id")
PERSONAL_HEADERS = frozenset({Header.OFFICER_ID, Header.CASE_ID, Header.IDEMPOTENCY_KEY})
SHOW_TEXT_LIMIT = 2000


@dataclass(frozen=True, slots=True)
class DeadLetter:
    id: str
    reason: str
    dead_lettered_by: str  # "worker" (x-lgsp-reason) or "broker" (x-death)
    origin_queue: str | None
    type: str | None
    deaths: int
    dead_lettered_at: str | None  # the latest death, when the broker recorded it
    size: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "reason": self.reason,
            "dead_lettered_by": self.dead_lettered_by,
            "origin_queue": self.origin_queue,
            "type": self.type,
            "deaths": self.deaths,
            "dead_lettered_at": self.dead_lettered_at,
            "size": self.size,
        }


def describe(message: AbstractIncomingMessage) -> DeadLetter:
    headers = message.headers or {}
    raw = headers.get("x-death")
    deaths = [d for d in raw if isinstance(d, dict)] if isinstance(raw, list) else []
    latest = deaths[0] if deaths else {}  # the broker puts the most recent death first
    ours = _text(headers.get(Header.REASON))
    origin = _text(headers.get(Header.ORIGIN_QUEUE)) or _text(latest.get("queue"))
    when = latest.get("time")
    return DeadLetter(
        id=message_id(message),
        reason=ours or _text(latest.get("reason")) or "unknown",
        dead_lettered_by="worker" if ours else "broker",
        origin_queue=origin,
        type=message.type,
        deaths=sum(_count(d.get("count")) for d in deaths) or 1,
        dead_lettered_at=when.isoformat() if isinstance(when, datetime) else None,
        size=len(message.body),
    )


def message_id(message: AbstractIncomingMessage) -> str:
    if message.message_id:
        return message.message_id
    return "sha-" + hashlib.sha256(message.body).hexdigest()[:16]


def masked_view(message: AbstractIncomingMessage) -> dict[str, Any]:
    """One dead letter for a human: its facts, headers and body with personal data masked."""
    headers = {
        k: MASK if k in PERSONAL_HEADERS else mask_body(_plain(v))
        for k, v in (message.headers or {}).items()
    }
    try:
        body: Any = mask_body(orjson.loads(message.body))
        body_format = "json"
    except orjson.JSONDecodeError:
        body = mask_text(message.body[:SHOW_TEXT_LIMIT].decode(errors="replace"))
        body_format = "text"
    return {
        **describe(message).as_dict(),
        "content_type": message.content_type,
        "correlation_id": message.correlation_id,
        "headers": headers,
        "body_format": body_format,
        "body": body,
    }


def _personal_key(key: str) -> bool:
    k = key.lower()
    return k in PERSONAL_KEYS or any(part in k for part in PERSONAL_KEY_PARTS)


def mask_body(value: Any) -> Any:
    """Personal data masked by key (names, ids, dates of birth ...) and by shape, recursively."""
    if isinstance(value, dict):
        return {k: MASK if _personal_key(str(k)) else mask_body(v) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_body(v) for v in value]
    if isinstance(value, str):
        return mask_text(value)
    return value


def _plain(value: Any) -> Any:
    """AMQP header values as JSON-friendly values."""
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _count(value: Any) -> int:
    return value if isinstance(value, int) and value > 0 else 1


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value if isinstance(value, str) else None


class DeadLetters:
    def __init__(self, link: AmqpLink, ops: OpsSettings, publish_timeout: float) -> None:
        self.link = link
        self.ops = ops
        self.publish_timeout = publish_timeout

    @asynccontextmanager
    async def _browse(
        self, channel: AbstractChannel, limit: int
    ) -> AsyncIterator[list[AbstractIncomingMessage]]:
        """Take up to `limit` dead letters unacked; whatever is not acked goes back at the end."""
        queue = await channel.get_queue(DEAD_LETTER_QUEUE, ensure=True)
        held: list[AbstractIncomingMessage] = []
        try:
            while len(held) < limit:
                message = await queue.get(no_ack=False, fail=False, timeout=5)
                if message is None:
                    break
                held.append(message)
            yield held
        finally:
            for message in held:
                if not message.processed and not channel.is_closed:
                    await message.nack(requeue=True)

    async def list(self, limit: int = 1000) -> list[dict[str, Any]]:
        async with self.link.channel() as channel, self._browse(channel, limit) as held:
            return [describe(m).as_dict() for m in held]

    async def show(self, wanted: str) -> dict[str, Any] | None:
        async with self.link.channel() as channel, self._browse(channel, BROWSE_LIMIT) as held:
            for message in held:
                if message_id(message) == wanted:
                    return masked_view(message)
        return None

    async def replay(self, ids: Iterable[str] | None) -> dict[str, Any]:
        """Replay the selected (None: all) dead letters; each removed only after its confirm."""
        selected = _selector(ids)
        replayed: list[str] = []
        failed: list[dict[str, str]] = []
        async with (
            self.link.channel(confirms=True) as channel,
            self._browse(channel, BROWSE_LIMIT) as held,
        ):
            for message in held:
                mid = message_id(message)
                if not selected(mid):
                    continue
                problem = await self._republish(channel, message)
                if problem is None:
                    await message.ack()  # the copy is confirmed: now the original may go
                    replayed.append(mid)
                else:
                    failed.append({"id": mid, "error": problem})
        found = set(replayed) | {f["id"] for f in failed}
        missing = sorted(set(ids or ()) - found)
        return {"replayed": replayed, "failed": failed, "not_found": missing}

    async def _republish(
        self, channel: AbstractChannel, message: AbstractIncomingMessage
    ) -> str | None:
        origin = describe(message).origin_queue
        if not origin:
            return "origin queue unknown"
        prefix = REQUESTS_EXCHANGE + "."
        if origin.startswith(prefix):
            exchange = await channel.get_exchange(REQUESTS_EXCHANGE, ensure=False)
            routing_key = origin.removeprefix(prefix)
        else:
            exchange = channel.default_exchange
            routing_key = origin
        headers = {k: v for k, v in (message.headers or {}).items() if k not in DEATH_HEADERS}
        previous = headers.get(REPLAYED)
        headers[REPLAYED] = (previous if isinstance(previous, int) else 0) + 1
        # Its caller is long gone: a fresh deadline, and no reply address.
        headers[Header.DEADLINE] = int((time.time() + self.ops.replay_timeout) * 1000)
        copy = aio_pika.Message(
            message.body,
            headers=headers,
            content_type=message.content_type,
            message_id=message.message_id,
            correlation_id=message.correlation_id,
            type=message.type,
            expiration=self.ops.replay_timeout,
            delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
        )
        try:
            async with asyncio.timeout(self.publish_timeout):
                await exchange.publish(copy, routing_key=routing_key, mandatory=True)
        except PublishError:
            return f"no route to {origin}"
        except DeliveryError:
            return f"the broker refused the copy for {origin}"
        except TimeoutError:
            return "no publisher confirm in time"
        except BROKER_ERRORS as exc:
            return f"broker error: {type(exc).__name__}"
        return None

    async def purge(self, ids: Iterable[str] | None) -> int:
        """Remove the selected (None: all) dead letters for good; the number removed."""
        async with self.link.channel() as channel:
            if ids is None:
                queue = await channel.get_queue(DEAD_LETTER_QUEUE, ensure=True)
                result = await queue.purge()
                return int(result.message_count or 0)
            selected = _selector(ids)
            removed = 0
            async with self._browse(channel, BROWSE_LIMIT) as held:
                for message in held:
                    if selected(message_id(message)):
                        await message.ack()
                        removed += 1
            return removed


def _selector(ids: Iterable[str] | None) -> Callable[[str], bool]:
    if ids is None:
        return lambda _mid: True
    wanted = set(ids)
    return wanted.__contains__
