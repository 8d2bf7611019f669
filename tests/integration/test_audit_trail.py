"""The audit trail end to end: one record per call, chained, withheld answers, a writer restart."""

from __future__ import annotations

import asyncio
import base64
import itertools
import urllib.parse
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aio_pika
import orjson

from gateway.audit import checkpoints
from gateway.audit.archive import archives
from gateway.audit.checkpoints import load_public_key
from gateway.audit.publisher import AUDIT, subject_hash
from gateway.audit.store import AuditStore
from gateway.audit.verify import verify_trail
from gateway.http.operations import BUS
from mocks.settings import MockSettings
from schemas.envelope import AUDIT_EXCHANGE, AUDIT_QUEUE
from tests.integration.security_support import audit_writer, bearer, clients
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, TEST_CLIENT, running_stack

VERIFY = "/v1/population/citizen-verify"
AUTH = clients(
    verifier={"allow": ["population/citizen-verify"], "rate_limit": {"rate": 0.01, "burst": 1}},
    nothing={"allow": []},
)


async def audit_queue_depth(rabbit: Rabbit) -> int:
    connection = await aio_pika.connect(rabbit.url)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(AUDIT_QUEUE, passive=True)
        return queue.declaration_result.message_count or 0
    finally:
        await connection.close()


async def test_every_call_yields_exactly_one_record(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    async with (
        running_stack(rabbit, mock_settings, generated, auth=AUTH) as stack,
        audit_writer(stack.settings, tmp_path / "audit.sqlite3") as running,
    ):
        verifier = bearer(stack.token("verifier"))
        calls: list[tuple[str, int, Any]] = [
            ("population/citizen-verify", 200, stack.post(VERIFY, citizen)),
            ("population/citizen-verify", 401, stack.client.post(VERIFY, json=citizen)),
            (
                "population/citizen-verify",
                401,
                stack.post(VERIFY, citizen, bearer("not.a.token")),
            ),
            (
                "population/citizen-verify",
                403,
                stack.post(VERIFY, citizen, bearer(stack.token("nothing"))),
            ),
            ("population/citizen-verify", 422, stack.post(VERIFY, {**citizen, "extra": 1})),
            (
                "population/citizen-verify",
                422,
                stack.client.post(VERIFY, json=citizen, headers=bearer(stack.token())),
            ),
            ("population/citizen-verify", 200, stack.post(VERIFY, citizen, verifier)),
            ("population/citizen-verify", 429, stack.post(VERIFY, citizen, verifier)),
            ("population/***", 404, stack.post("/v1/population/031095001234", citizen)),
            ("services", 200, stack.client.get("/v1/services", headers=bearer(stack.token()))),
            (
                "token",
                401,
                stack.client.post(
                    "/token",
                    data={
                        "grant_type": "client_credentials",
                        "client_id": "verifier",
                        "client_secret": "wrong",
                    },
                ),
            ),
            ("token", 400, stack.client.post("/token", data={"grant_type": "password"})),
        ]
        request_ids = []
        for operation, status, call in calls:
            response = await call
            assert response.status == status, (operation, await response.text())
            request_ids.append(response.headers["X-Request-ID"])
        # Not audited: operator and health endpoints.
        assert (await stack.client.get("/healthz")).status == 200

        async with asyncio.timeout(15):
            await running.writer.wait_written(len(calls))
        assert await audit_queue_depth(rabbit) == 0
        records = list(running.store.search())
        assert len(records) == len(calls)  # exactly one each
        assert Counter((r["operation"], r["status"]) for r in records) == Counter(
            (operation, status) for operation, status, _ in calls
        )
        assert sorted(r["request_id"] for r in records) == sorted(request_ids)
        assert running.store.verify().ok

        key = stack.settings.audit.subject_key.get_secret_value().encode()
        (first,) = [r for r in records if r["request_id"] == request_ids[0]]
        assert first["client_id"] == TEST_CLIENT
        assert first["authenticated"] == 1
        assert first["subject_hash"] == subject_hash(key, citizen["personal_id"])
        assert (first["officer_id"], first["procedure_code"], first["case_id"]) == tuple(
            PURPOSE.values()
        )
        assert first["request_hash"]
        assert first["duration_ms"] > 0
        (refused,) = [r for r in records if r["request_id"] == request_ids[1]]
        assert refused["client_id"] is None
        assert refused["authenticated"] == 0
        (token,) = [r for r in records if r["operation"] == "token" and r["status"] == 401]
        assert token["client_id"] == "verifier"  # claimed, not authenticated
        assert token["authenticated"] == 0
        clear = orjson.dumps(records).decode()
        assert citizen["personal_id"] not in clear
        assert citizen["full_name"] not in clear
        found = list(running.store.search(subject_hash=subject_hash(key, citizen["personal_id"])))
        # Every call that named this citizen in a valid body, answered or refused afterwards.
        assert [r["status"] for r in found] == [200, 422, 200]


async def test_personal_data_is_withheld_when_the_access_cannot_be_recorded(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    """Neither confirmed by the broker (no route) nor kept by the spool (its directory cannot
    be made): nothing personal leaves."""
    vhost = urllib.parse.quote(rabbit.vhost, safe="")
    binding = f"/api/bindings/{vhost}/e/{AUDIT_EXCHANGE}/q/{AUDIT_QUEUE}"
    (tmp_path / "not-a-directory").write_text("")
    unusable = {"spool_dir": str(tmp_path / "not-a-directory" / "spool")}
    async with running_stack(rabbit, mock_settings, generated, audit=unusable) as stack:
        assert (await stack.post(VERIFY, citizen)).status == 200
        (bound,) = rabbit.api("GET", binding)
        props = urllib.parse.quote(bound["properties_key"], safe="")
        rabbit.api("DELETE", f"{binding}/{props}")  # audit events now have nowhere to go
        withheld = await stack.post(VERIFY, citizen)
        assert withheld.status == 503
        assert "Retry-After" in withheld.headers
        body = await withheld.text()
        assert citizen["full_name"] not in body
        assert citizen["personal_id"] not in body
        assert (await withheld.json())["type"].endswith("/service-unavailable")
        # Answers without personal data are not held back.
        assert (await stack.client.post(VERIFY, json=citizen)).status == 401
        rabbit.api("POST", binding, {"routing_key": ""})
        assert (await stack.post(VERIFY, citizen)).status == 200


async def test_a_stopped_writer_loses_nothing(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.sqlite3"
    async with running_stack(rabbit, mock_settings, generated, workers=False) as stack:
        await stack.app[BUS].connected.wait()
        token = bearer(stack.token())
        basic = "Basic " + base64.b64encode(b"nobody:nothing").decode()
        answered: list[str] = []

        async def call(i: int) -> None:
            if i % 3 == 0:
                response = await stack.client.get("/v1/services", headers={"Authorization": basic})
            else:
                response = await stack.client.get("/v1/services", headers=token)
            answered.append(response.headers["X-Request-ID"])

        async def load(first: int, n: int) -> None:
            for start in range(first, first + n, 25):
                await asyncio.gather(*(call(i) for i in range(start, start + 25)))

        async with audit_writer(stack.settings, path) as first:
            loading = asyncio.create_task(load(0, 100))
            async with asyncio.timeout(15):
                await first.writer.wait_written(50)
            await first.stop()  # under load: events keep coming
            await loading
            written = first.store.count()
        await load(100, 200)  # and more while no writer runs
        await stack.app[AUDIT].drain()  # every event is confirmed by the broker now
        assert written <= 100
        # The rest waits in the queue (the exact depth lags while the quorum queue takes back
        # the stopped writer's unacknowledged messages; the final count below is exact).
        assert await audit_queue_depth(rabbit) > 0
        async with audit_writer(stack.settings, path) as second:
            async with asyncio.timeout(15):
                await second.writer.wait_written(300 - written)
            assert second.store.count() == 300
            assert second.store.verify().ok
            recorded = [r["request_id"] for r in second.store.search(limit=1000)]
        assert sorted(recorded) == sorted(answered)
        assert await audit_queue_depth(rabbit) == 0


def _event(n: int) -> dict[str, Any]:
    return {
        "event_id": f"e{n}",
        "time": "2026-11-23T00:00:00.000000+00:00",
        "request_id": f"r{n}",
        "operation": "services",
        "authenticated": True,
        "status": 200,
        "duration_ms": 1.0,
    }


async def test_one_batch_with_malformed_messages_is_acked_once_and_nothing_stays_unacked(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    tmp_path: Path,
) -> None:
    async with running_stack(rabbit, mock_settings, generated, workers=False) as stack:
        await stack.app[BUS].connected.wait()
        bodies = [
            orjson.dumps(_event(1)),
            b"not json",
            orjson.dumps([_event(2), _event(3)]),  # the gateway's group commit: an array
            orjson.dumps([_event(4), "not an event"]),
            orjson.dumps(_event(5)),
            b"[]",
        ]
        connection = await aio_pika.connect(rabbit.url)
        try:
            channel = await connection.channel()
            exchange = await channel.get_exchange(AUDIT_EXCHANGE, ensure=False)
            for body in bodies:  # queued before the writer starts: it takes them as one batch
                await exchange.publish(aio_pika.Message(body), routing_key="")
        finally:
            await connection.close()
        async with audit_writer(stack.settings, tmp_path / "audit.sqlite3") as running:
            async with asyncio.timeout(15):
                await running.writer.wait_written(4)
            recorded = sorted(r["request_id"] for r in running.store.search(limit=10))
            await running.stop()  # a stopped writer's unacked messages would go back to the queue
        assert recorded == ["r1", "r2", "r3", "r5"]
        assert await audit_queue_depth(rabbit) == 0


async def test_the_writer_signs_the_head_every_n_records_and_every_t_seconds(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.sqlite3"
    every = {"checkpoint_every": 10, "checkpoint_interval": 0.5}
    async with running_stack(rabbit, mock_settings, generated, workers=False, audit=every) as stack:
        await stack.app[BUS].connected.wait()
        token = bearer(stack.token())
        async with audit_writer(stack.settings, path) as running:
            settings = running.writer.settings.audit
            public = load_public_key(settings.checkpoint_key_file)
            async with asyncio.timeout(30):
                for i in range(25):  # one record at a time: each batch holds one event
                    assert (await stack.client.get("/v1/services", headers=token)).status == 200
                    await running.writer.wait_written(i + 1)
                # 25 is not a multiple of 10: the timer signs it within an interval or two.
                while checkpoints.read(settings.checkpoint_file, public)[-1].seq != 25:
                    await asyncio.sleep(0.05)
            signed = [c.seq for c in checkpoints.read(settings.checkpoint_file, public)]
            assert signed[0] == 0  # the writer signs the head it starts from
            assert signed == sorted(signed)
            # Never more than N records without a checkpoint.
            assert all(b - a <= 10 for a, b in itertools.pairwise(signed))
            assert len(signed) >= 4
            verdict = verify_trail(
                running.store,
                stack.settings.audit.chain_key.get_secret_value().encode(),
                archive_dir=tmp_path / "archive",
                checkpoints=settings.checkpoint_file,
                public_key=public,
            )
            assert verdict.ok, verdict.problem


async def test_the_writer_archives_what_is_older_than_the_retention_period(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.sqlite3"
    key = generated["audit"]["chain_key"].encode()
    old = datetime.now(UTC) - timedelta(days=45)
    seeded = AuditStore(path, key)
    seeded.append(
        [
            {**_event(n), "time": (old + timedelta(minutes=n)).isoformat(timespec="microseconds")}
            for n in range(1, 6)
        ]
    )
    seeded.close()
    retention = {"retention_days": 30, "archive_interval": 3600}
    async with (
        running_stack(rabbit, mock_settings, generated, workers=False, audit=retention) as stack,
        audit_writer(stack.settings, path) as running,
    ):
        token = bearer(stack.token())
        assert (await stack.client.get("/v1/services", headers=token)).status == 200
        async with asyncio.timeout(15):
            await running.writer.wait_written(1)
            while not archives(running.writer.settings.audit.archive_dir):
                await asyncio.sleep(0.05)
        (archive,) = archives(running.writer.settings.audit.archive_dir)
        assert archive.name == "audit-000000000001-000000000005.jsonl"
        assert running.store.count() == 1  # only the fresh record stays live
        settings = running.writer.settings.audit
        verdict = verify_trail(
            running.store,
            key,
            archive_dir=settings.archive_dir,
            checkpoints=settings.checkpoint_file,
            public_key=load_public_key(settings.checkpoint_key_file),
        )
        assert verdict.ok, verdict.problem
        assert (verdict.records, verdict.archives) == (6, 1)
