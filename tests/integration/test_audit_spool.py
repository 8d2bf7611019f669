"""The audit spool on a real broker: events it cannot confirm are kept on disk and drained later,
exactly one record each, including what another (stopped) gateway process left behind."""

from __future__ import annotations

import asyncio
import urllib.parse
from pathlib import Path
from typing import Any

import orjson

from gateway.audit.publisher import AUDIT
from gateway.ids import new_id
from mocks.settings import MockSettings
from schemas.envelope import AUDIT_EXCHANGE, AUDIT_QUEUE
from schemas.problems import ProblemType
from tests.integration.security_support import audit_writer
from tests.integration.test_adapters_population import DECLARE, declaration, stored
from tests.support.rabbit import Rabbit
from tests.support.stack import running_stack
from tests.support.waiting import wait_until

VERIFY = "/v1/population/citizen-verify"


def unbind_audit(rabbit: Rabbit) -> str:
    """Remove the audit queue's binding (events are then returned unroutable); its path."""
    vhost = urllib.parse.quote(rabbit.vhost, safe="")
    binding = f"/api/bindings/{vhost}/e/{AUDIT_EXCHANGE}/q/{AUDIT_QUEUE}"
    (bound,) = rabbit.api("GET", binding)
    rabbit.api("DELETE", f"{binding}/{urllib.parse.quote(bound['properties_key'], safe='')}")
    return binding


async def test_an_unconfirmed_event_is_spooled_disclosed_and_recorded_once_when_drained(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    async with running_stack(rabbit, mock_settings, generated) as stack:
        audit = stack.app[AUDIT]
        binding = unbind_audit(rabbit)
        answered = [await stack.post(VERIFY, citizen) for _ in range(5)]
        # The broker refused every event (no route), the spool kept them: the data was disclosed.
        assert [r.status for r in answered] == [200] * 5
        assert audit.spool.events == 5
        assert audit.spool.directory_bytes() > 0
        metrics = await (await stack.client.get("/metrics")).text()
        assert "lgsp_audit_spool_events 5.0" in metrics
        rabbit.api("POST", binding, {"routing_key": ""})

        async def drained() -> bool:
            return audit.spool.events == 0 and not audit.spool.files()

        await wait_until(drained, within=15)
        async with audit_writer(stack.settings, tmp_path / "audit.sqlite3") as running:
            await asyncio.wait_for(running.writer.wait_written(5), 15)
            ids = {r.headers["X-Request-ID"] for r in answered}
            records = [r for r in running.store.search() if r["request_id"] in ids]
            assert sorted(r["request_id"] for r in records) == sorted(ids)
            assert {r["status"] for r in records} == {200}


async def test_a_spool_left_by_a_stopped_gateway_process_is_drained_at_start(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    tmp_path: Path,
) -> None:
    spool_dir = tmp_path / "spool"
    spool_dir.mkdir()
    events = [
        {
            "event_id": new_id(),
            "time": "2026-01-05T08:00:00.000000+00:00",
            "request_id": f"left-behind-{i:04d}",
            "client_id": "tests",
            "authenticated": True,
            "operation": "services",
            "status": 200,
            "duration_ms": 1.0,
        }
        for i in range(3)
    ]
    lines = b"".join(orjson.dumps(e) + b"\n" for e in events)
    # What a gateway killed mid-append leaves: whole lines, then a torn one.
    (spool_dir / "elsewhere.4242.deadbeef.1.spool").write_bytes(lines + b'{"event_id": "to')
    settings = {"spool_dir": str(spool_dir)}
    async with running_stack(rabbit, mock_settings, generated, audit=settings) as stack:

        async def drained() -> bool:
            return not stack.app[AUDIT].spool.files()

        await wait_until(drained, within=15)
        async with audit_writer(stack.settings, tmp_path / "audit.sqlite3") as running:
            await asyncio.wait_for(running.writer.wait_written(3), 15)
            found = sorted(r["request_id"] for r in running.store.search())
            assert [f for f in found if f.startswith("left-behind-")] == [
                e["request_id"] for e in events
            ]


async def test_an_answer_withheld_by_the_audit_trail_is_recorded_with_the_503_the_caller_got(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    """A withheld read is "not done"; a withheld write was done, so it says "outcome unknown",
    and its retry with the same key gets the first outcome with one effect."""
    small = {"spool_max_events": 20}  # personal data is withheld from 18 spooled events on
    async with running_stack(rabbit, mock_settings, generated, audit=small) as stack:
        binding = unbind_audit(rabbit)
        disclosed = [await stack.post(VERIFY, citizen) for _ in range(18)]
        assert [r.status for r in disclosed] == [200] * 18
        withheld = await stack.post(VERIFY, citizen)
        assert withheld.status == 503
        assert citizen["full_name"] not in await withheld.text()
        assert (await withheld.json())["type"] == ProblemType.UNAVAILABLE
        key = {"Idempotency-Key": f"withheld-{new_id()}"}
        body = declaration(citizen)
        write = await stack.post(DECLARE, body, key)
        assert write.status == 503
        assert (await write.json())["type"] == ProblemType.OUTCOME_UNKNOWN
        rabbit.api("POST", binding, {"routing_key": ""})

        async def drained() -> bool:
            return stack.app[AUDIT].spool.events == 0

        await wait_until(drained, within=15)
        retried = await stack.post(DECLARE, body, key)
        assert retried.status == 200
        assert await stored(stack, key["Idempotency-Key"]) == 1
        async with audit_writer(stack.settings, tmp_path / "audit.sqlite3") as running:
            await asyncio.wait_for(running.writer.wait_written(21), 15)
            by_id = {r["request_id"]: r["status"] for r in running.store.search()}
        assert by_id[withheld.headers["X-Request-ID"]] == 503
        assert by_id[write.headers["X-Request-ID"]] == 503
        assert by_id[retried.headers["X-Request-ID"]] == 200
        assert [by_id[r.headers["X-Request-ID"]] for r in disclosed] == [200] * 18
        assert len(by_id) == 21
