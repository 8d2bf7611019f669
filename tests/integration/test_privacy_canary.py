"""A canary sweep: recognisable fake personal data leaves no clear copy in logs or error bodies."""

from __future__ import annotations

import io
import logging
from typing import Any

import aio_pika
import orjson
import pytest
import structlog

from adapters.logs import configure_logging
from mocks.settings import MockSettings
from schemas.envelope import AUDIT_QUEUE
from tests.integration.security_support import bearer
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, running_stack

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
