"""Dead letters of every reason: listed, shown masked, replayed (then processed), purged."""

from __future__ import annotations

import asyncio
import io
import json
import time
from pathlib import Path
from typing import Any

import aio_pika
import orjson
import pytest

from gateway.cli.ops import dlq_command
from schemas.envelope import DEAD_LETTER_EXCHANGE, Header
from tests.support.ops_stack import PROBE_QUEUE, OpsStack, ops_stack
from tests.support.rabbit import Rabbit

pytestmark = pytest.mark.integration

NAME = "Nguyễn Văn An"
PERSONAL_ID = "001099012345"


async def dead_letters(stack: OpsStack, count: int, within: float = 15.0) -> list[dict[str, Any]]:
    """Poll the DLQ listing until it holds `count` messages."""
    deadline = time.monotonic() + within
    while True:
        messages: list[dict[str, Any]] = (await stack.ops_get("/ops/dlq"))["messages"]
        if len(messages) >= count or time.monotonic() > deadline:
            return messages
        await asyncio.sleep(0.1)


async def worker_dead_letters(stack: OpsStack) -> None:
    """Messages the worker itself dead-letters, one per reason it knows."""
    await stack.publish_raw(
        orjson.dumps({"value": "x", "full_name": NAME, "personal_id": PERSONAL_ID}),
        message_id="dl-schema-invalid",
        headers={Header.OFFICER_ID: "officer-4711"},
    )
    await stack.publish_raw(b"{oops", message_id="dl-undecodable")
    await stack.publish_raw(
        orjson.dumps({"value": "nope"}), message_id="dl-unknown-operation", type_="probe/nope"
    )
    await stack.publish_raw(
        orjson.dumps({"value": "late-1"}), message_id="dl-expired-worker", deadline_in=-1
    )
    await stack.publish_raw(
        orjson.dumps({"value": "crash-1", "mode": "crash"}), message_id="dl-adapter-error"
    )


async def broker_dead_letters(stack: OpsStack) -> None:
    """Messages the broker dead-letters (x-death): rejected, delivery limit, expired in queue."""
    connection = await aio_pika.connect(stack.rabbit.url)
    async with connection:
        channel = await connection.channel()
        queue = await channel.get_queue(PROBE_QUEUE)
        await stack.publish_raw(orjson.dumps({"value": "rejected-1"}), message_id="dl-rejected")
        rejected = await queue.get(timeout=5)
        await rejected.reject(requeue=False)
        await stack.publish_raw(orjson.dumps({"value": "limit-1"}), message_id="dl-delivery-limit")
        # delivery_limit is 1 in the probe stack: the second return dead-letters it.
        while (returned := await queue.get(fail=False, timeout=5)) is not None:
            await returned.nack(requeue=True)
    await stack.publish_raw(
        orjson.dumps({"value": "expired-1"}), message_id="dl-expired-broker", expiration=0.05
    )


async def test_dead_letters_of_every_reason_are_listed_shown_masked_replayed_and_processed(
    rabbit: Rabbit, tmp_path: Path
) -> None:
    async with ops_stack(rabbit, tmp_path) as stack:
        await worker_dead_letters(stack)
        await dead_letters(stack, 5)
        await stack.stop_workers()
        await broker_dead_letters(stack)
        listed = await dead_letters(stack, 8)

        by_id = {m["id"]: m for m in listed}
        assert {k: (v["reason"], v["dead_lettered_by"]) for k, v in by_id.items()} == {
            "dl-schema-invalid": ("schema-invalid", "worker"),
            "dl-undecodable": ("undecodable", "worker"),
            "dl-unknown-operation": ("unknown-operation", "worker"),
            "dl-expired-worker": ("expired", "worker"),
            "dl-adapter-error": ("adapter-error", "worker"),
            "dl-rejected": ("rejected", "broker"),
            "dl-delivery-limit": ("delivery_limit", "broker"),
            "dl-expired-broker": ("expired", "broker"),
        }
        assert {m["origin_queue"] for m in listed} == {PROBE_QUEUE}
        assert by_id["dl-rejected"]["dead_lettered_at"] is not None

        # The CLI lists the same, with the reason and origin on each line.
        out = io.StringIO()
        assert await dlq_command(stack.settings, "list", [], out=out) == 0
        line = next(x for x in out.getvalue().splitlines() if x.startswith("dl-delivery-limit"))
        assert "delivery_limit" in line
        assert PROBE_QUEUE in line

        # Show: personal data masked, in the body and in the purpose headers.
        resp = await stack.client.get("/ops/dlq/dl-schema-invalid", headers=stack.ops_headers)
        assert resp.status == 200
        shown = await resp.json()
        raw = json.dumps(shown, ensure_ascii=False)
        assert NAME not in raw
        assert PERSONAL_ID not in raw
        assert "officer-4711" not in raw
        assert shown["body"] == {"value": "x", "full_name": "***", "personal_id": "***"}
        assert shown["reason"] == "schema-invalid"
        out = io.StringIO()
        assert await dlq_command(stack.settings, "show", ["dl-schema-invalid"], out=out) == 0
        assert PERSONAL_ID not in out.getvalue()
        assert '"full_name": "***"' in out.getvalue()
        missing = await stack.client.get("/ops/dlq/no-such-message", headers=stack.ops_headers)
        assert missing.status == 404

        # Replay what can now succeed: the adapter is fixed, a worker is back.
        stack.backend.healed = True
        await stack.start_worker()
        replayable = [
            "dl-adapter-error",
            "dl-expired-worker",
            "dl-rejected",
            "dl-delivery-limit",
            "dl-expired-broker",
        ]
        resp = await stack.client.post(
            "/ops/dlq/replay", json={"ids": replayable}, headers=stack.ops_headers
        )
        assert resp.status == 200
        result = await resp.json()
        assert sorted(result["replayed"]) == sorted(replayable)
        assert result["failed"] == []
        assert result["not_found"] == []
        await stack.backend.wait_calls("crash-1", "late-1", "rejected-1", "limit-1", "expired-1")
        left = {m["id"] for m in (await stack.ops_get("/ops/dlq"))["messages"]}
        assert left == {"dl-schema-invalid", "dl-undecodable", "dl-unknown-operation"}


async def test_replay_keeps_what_it_cannot_deliver_and_purge_asks_first(
    rabbit: Rabbit, tmp_path: Path
) -> None:
    async with ops_stack(rabbit, tmp_path) as stack:
        await worker_dead_letters(stack)
        # A dead letter whose origin has no route any more: the replay must not lose it.
        connection = await aio_pika.connect(stack.rabbit.url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE)
            await exchange.publish(
                aio_pika.Message(
                    b'{"value": "ghost"}',
                    message_id="dl-ghost",
                    type="ghost/echo",
                    headers={
                        Header.REASON: "adapter-error",
                        Header.ORIGIN_QUEUE: "lgsp.requests.ghost",
                    },
                ),
                routing_key="ghost",
            )
        await dead_letters(stack, 6)

        out = io.StringIO()
        status = await dlq_command(stack.settings, "replay", ["dl-ghost", "dl-unheard-of"], out=out)
        assert status == 1
        result = json.loads(out.getvalue())
        assert result["replayed"] == []
        assert result["failed"] == [{"id": "dl-ghost", "error": "no route to lgsp.requests.ghost"}]
        assert result["not_found"] == ["dl-unheard-of"]
        ids = {m["id"] for m in await dead_letters(stack, 6)}
        assert "dl-ghost" in ids

        # Purge over HTTP needs an explicit confirmation.
        refused = await stack.client.post(
            "/ops/dlq/purge", json={"ids": ["dl-undecodable"]}, headers=stack.ops_headers
        )
        assert refused.status == 422
        resp = await stack.client.post(
            "/ops/dlq/purge",
            json={"ids": ["dl-undecodable"], "confirm": True},
            headers=stack.ops_headers,
        )
        assert await resp.json() == {"purged": 1}
        assert "dl-undecodable" not in {m["id"] for m in await dead_letters(stack, 5)}

        # The CLI asks; anything but 'purge' keeps the messages.
        out = io.StringIO()
        kept = await dlq_command(
            stack.settings, "purge", [], select_all=True, out=out, ask=lambda _q: "no"
        )
        assert kept == 1
        assert len(await dead_letters(stack, 5)) == 5
        out = io.StringIO()
        purged = await dlq_command(
            stack.settings, "purge", [], select_all=True, out=out, ask=lambda _q: "purge"
        )
        assert purged == 0
        assert json.loads(out.getvalue()) == {"purged": 5}
        assert (await stack.ops_get("/ops/dlq"))["messages"] == []
