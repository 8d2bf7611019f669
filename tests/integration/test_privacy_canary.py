"""A canary sweep: recognisable fake personal data leaves no clear copy in logs or error bodies."""

from __future__ import annotations

import io
import logging
import time
from typing import Any

import aio_pika
import orjson
import pytest
import structlog

from adapters.logs import configure_logging
from mocks.settings import MockSettings
from schemas.envelope import AUDIT_QUEUE, REQUESTS_EXCHANGE, Header
from tests.integration.security_support import bearer
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, running_stack
from tests.support.waiting import wait_until

VERIFY = "/v1/population/citizen-verify"
# A synthetic person nobody has: 031 Hải Phòng, 1 = born in the 1900s (female), 99.
CANARY_ID = "031199012345"
CANARY_NAME = "Quách Thị Hoài Thương"
CANARY_BIRTH = "1999-03-14"
CANARIES = (CANARY_ID, CANARY_NAME, "Hoài Thương", CANARY_BIRTH, "14/03/1999", "19990314")
BODY = {"personal_id": CANARY_ID, "full_name": CANARY_NAME, "date_of_birth": CANARY_BIRTH}


@pytest.fixture
def captured_logs() -> Any:
    """Every structlog line rendered as the processes render them (masking included)."""
    out = io.StringIO()
    configure_logging("debug", "json", stream=out)
    structlog.configure(cache_logger_on_first_use=False)  # nothing outlives the test
    try:
        yield out
    finally:
        structlog.reset_defaults()


async def test_canaries_leave_no_clear_copy_in_logs_error_bodies_or_audit_events(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    captured_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Stdlib loggers (aiohttp, aio-pika) as our processes run them, and one level chattier.
    # (aiormq's DEBUG frame dumps are never enabled: configure_logging leaves stdlib at WARNING.)
    caplog.set_level(logging.INFO)
    async with running_stack(rabbit, mock_settings, generated) as stack:
        token = bearer(stack.token())
        client = stack.client
        calls = [
            stack.post(VERIFY, BODY),  # no such citizen: the central system's own answer
            stack.post(VERIFY, {**BODY, "date_of_birth": "2005-03-14"}),  # ID and birth disagree
            stack.post(VERIFY, {**BODY, "mother": CANARY_NAME}),  # unknown field
            stack.post(VERIFY, {**BODY, "personal_id": CANARY_ID + "9"}),  # malformed ID
            client.post(
                VERIFY,
                data=f'{{"personal_id": "{CANARY_ID}", "full_name": "{CANARY_NAME}",'.encode(),
                headers={**token, **PURPOSE, "Content-Type": "application/json"},
            ),
            client.post(VERIFY, data=str(BODY), headers={**token, **PURPOSE}),  # not JSON
            client.post(VERIFY, json=BODY, headers=PURPOSE),  # no token
            client.post(VERIFY, json=BODY, headers={**PURPOSE, **bearer(CANARY_ID)}),
            stack.post(f"/v1/population/{CANARY_ID}", BODY),  # an identifier in the URL
            client.post(
                "/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": CANARY_ID,
                    "client_secret": CANARY_NAME,
                },
            ),
        ]
        statuses = []
        for call in calls:
            response = await call
            statuses.append(response.status)
            body = await response.text()
            for canary in CANARIES:
                assert canary not in body, (response.status, canary, body)
        # The unknown canary is a failed match (200, `matched: false`); the rest are refusals.
        assert statuses[0] == 200, statuses
        assert all(status >= 400 for status in statuses[1:]), statuses
        audit_bodies = await drain_audit_queue(rabbit, len(calls))

    lines = captured_logs.getvalue()
    assert lines.count('"http.request"') >= len(calls)  # the capture saw the requests
    # aiohttp's access log exists only in the test server: `serve()` runs with access_log=None.
    stdlib = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.name != "aiohttp.access"
    )
    everything = lines + stdlib + audit_bodies
    for canary in CANARIES:
        assert canary not in everything, canary


async def drain_audit_queue(rabbit: Rabbit, expected: int) -> str:
    connection = await aio_pika.connect(rabbit.url)
    bodies: list[str] = []
    try:
        channel = await connection.channel()
        queue = await channel.get_queue(AUDIT_QUEUE, ensure=False)
        async with queue.iterator() as messages:
            events = 0
            async for message in messages:
                await message.ack()
                bodies.append(message.body.decode())
                # A message holds one event or, from the gateway's group commit, a list of them.
                value = orjson.loads(message.body)
                events += len(value) if isinstance(value, list) else 1
                if events >= expected:
                    break
    finally:
        await connection.close()
    return "\n".join(bodies)


# Request ids carrying the canary ID, as a careless client might build them.
ID_CANARIES = (CANARY_ID, f"req-{CANARY_ID}", f"x{CANARY_ID}", f"case:{CANARY_ID}.1")


async def test_a_request_id_shaped_like_a_personal_id_is_never_logged_audited_or_counted(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    captured_logs: io.StringIO,
    caplog: pytest.LogCaptureFixture,
    citizen: dict[str, Any],
) -> None:
    """Through the gateway (replaced at the edge) and straight onto the bus (masked by the
    worker's logging): the canary is in no log line, audit record, metric or answer."""
    caplog.set_level(logging.INFO)
    async with running_stack(rabbit, mock_settings, generated) as stack:
        calls = 0
        for rid in ID_CANARIES:
            for path, body in (
                (VERIFY, citizen),  # answered with personal data: audited before it leaves
                (VERIFY, BODY),  # a failed match
                ("/v1/population/no-such-operation", BODY),
            ):
                response = await stack.post(path, body, {"X-Request-ID": rid})
                calls += 1
                assert response.headers["X-Request-ID"] != rid
                assert CANARY_ID not in await response.text()
            token = await stack.client.post(
                "/token",
                data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"},
                headers={"X-Request-ID": rid},
            )
            calls += 1
            assert CANARY_ID not in token.headers["X-Request-ID"]
            health = await stack.client.get("/healthz", headers={"X-Request-ID": rid})
            assert CANARY_ID not in health.headers["X-Request-ID"]
        # Something other than the gateway publishes with the canary as message id: the
        # worker's log lines mask it (it still answers; nobody waits for the reply).
        connection = await aio_pika.connect(rabbit.url)
        async with connection:
            channel = await connection.channel()
            exchange = await channel.get_exchange(REQUESTS_EXCHANGE)
            await exchange.publish(
                aio_pika.Message(
                    orjson.dumps(citizen),
                    type="population/citizen-verify",
                    message_id=f"req-{CANARY_ID}",
                    correlation_id=f"req-{CANARY_ID}",
                    headers={Header.DEADLINE: int((time.time() + 5) * 1000)},
                ),
                routing_key="population",
            )
            # The worker logged it, masked (a line with the canary would fail below).
            await wait_until(lambda: _logged(captured_logs, '"request_id":"***"'))
        metrics = await (await stack.client.get("/metrics")).text()
        audit_bodies = await drain_audit_queue(rabbit, calls)

    lines = captured_logs.getvalue()
    stdlib = "\n".join(
        f"{r.name} {r.getMessage()} {r.exc_text or ''}"
        for r in caplog.records
        if r.name != "aiohttp.access"  # the test server's own access log; serve() has none
    )
    print(
        f"LEDGER request-id-canary: calls={calls} audit_bytes={len(audit_bodies)} "
        f"log_lines={lines.count(chr(10))} canary_hits="
        f"{sum(x.count(CANARY_ID) for x in (lines, stdlib, audit_bodies, metrics))}"
    )
    assert audit_bodies.count('"request_id"') >= calls
    for where in (lines, stdlib, audit_bodies, metrics):
        assert CANARY_ID not in where


async def _logged(out: io.StringIO, text: str) -> bool:
    return text in out.getvalue()
