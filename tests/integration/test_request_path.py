"""HTTP → bus → worker → central system → back, and every way a request can be refused."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from structlog.testing import capture_logs

from mocks.settings import MockSettings
from schemas.problems import PROBLEM_CONTENT_TYPE, ProblemType
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, Stack, running_stack

VERIFY = "/v1/population/citizen-verify"
JSON = {"Content-Type": "application/json", **PURPOSE}


def authed(stack: Stack, headers: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {stack.token()}", **headers}


async def test_citizen_verify_answers_the_record(stack: Stack, citizen: dict[str, Any]) -> None:
    resp = await stack.post(VERIFY, citizen)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert body["matched"] is True
    assert body["mismatched_fields"] == []
    assert body["citizen"]["personal_id"] == citizen["personal_id"]
    assert body["citizen"]["full_name"] == citizen["full_name"]


async def test_request_id_is_echoed_and_logged_by_gateway_and_worker(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    rid = "case-2026-000123"
    with capture_logs() as logs:
        resp = await stack.post(VERIFY, citizen, headers={"X-Request-ID": rid})
    assert resp.headers["X-Request-ID"] == rid
    events = {e["event"] for e in logs if e.get("request_id") == rid}
    assert {"http.request", "message.handled"} <= events


@pytest.mark.parametrize("supplied", ["", "short", "bad id with spaces", "x" * 200, "é" * 10])
async def test_malformed_request_id_is_replaced(
    stack: Stack, citizen: dict[str, Any], supplied: str
) -> None:
    resp = await stack.post(VERIFY, citizen, headers={"X-Request-ID": supplied})
    assert resp.status == 200
    assert resp.headers["X-Request-ID"] != supplied
    assert len(resp.headers["X-Request-ID"]) == 32


MALFORMED: list[tuple[str, bytes, str, int, str]] = [
    ("not json", b"{not json", "application/json", 400, ProblemType.MALFORMED),
    ("empty body", b"", "application/json", 400, ProblemType.MALFORMED),
    (
        "deep nesting",
        b"[" * 20_000 + b"]" * 20_000,
        "application/json",
        400,
        ProblemType.MALFORMED,
    ),
    (
        "huge number",
        b'{"personal_id": ' + b"9" * 5000 + b"}",
        "application/json",
        400,
        ProblemType.MALFORMED,
    ),
    (
        "lone surrogate",
        b'{"personal_id": "\\ud800", "full_name": "A B", "date_of_birth": "1990-01-01"}',
        "application/json",
        400,
        ProblemType.MALFORMED,
    ),
    ("invalid utf-8", b'{"full_name": "\xff\xfe"}', "application/json", 400, ProblemType.MALFORMED),
    ("json array", b"[1, 2]", "application/json", 422, ProblemType.VALIDATION),
    ("text/plain", b"{}", "text/plain", 415, ProblemType.UNSUPPORTED_MEDIA_TYPE),
    ("form", b"a=1", "application/x-www-form-urlencoded", 415, ProblemType.UNSUPPORTED_MEDIA_TYPE),
    ("no content type", b"{}", "", 415, ProblemType.UNSUPPORTED_MEDIA_TYPE),
    (
        "unknown field",
        b'{"personal_id": "031095001234", "full_name": "A B", '
        b'"date_of_birth": "1995-01-01", "admin": true}',
        "application/json",
        422,
        ProblemType.VALIDATION,
    ),
    ("infinity", b'{"personal_id": 1e999}', "application/json", 422, ProblemType.VALIDATION),
]


@pytest.mark.parametrize(
    ("name", "body", "ctype", "status", "ptype"),
    MALFORMED,
    ids=lambda v: v if isinstance(v, str) and len(v) < 30 else "",
)
async def test_bad_input_gets_a_4xx_problem_and_publishes_nothing(
    stack: Stack, name: str, body: bytes, ctype: str, status: int, ptype: str
) -> None:
    headers = {**PURPOSE, "Content-Type": ctype} if ctype else dict(PURPOSE)
    before = await stack.central_calls()
    resp = await stack.client.post(VERIFY, data=body, headers=authed(stack, headers))
    assert resp.status == status, (name, await resp.text())
    assert resp.content_type == PROBLEM_CONTENT_TYPE
    problem = await resp.json()
    assert problem["type"] == ptype
    assert problem["status"] == status
    assert problem["request_id"] == resp.headers["X-Request-ID"]
    assert "Traceback" not in await resp.text()
    assert await stack.central_calls() == before


async def test_schema_violations_name_the_field(stack: Stack, citizen: dict[str, Any]) -> None:
    resp = await stack.post(VERIFY, {**citizen, "personal_id": "99909500123"})
    assert resp.status == 422
    problem = await resp.json()
    assert [e["field"] for e in problem["errors"]] == ["personal_id"]
    assert "99909500123" not in await resp.text()  # the value is personal data: never echoed


async def test_personal_id_must_agree_with_the_date_of_birth(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    resp = await stack.post(VERIFY, {**citizen, "date_of_birth": "1850-01-01"})
    assert resp.status == 422
    assert [e["field"] for e in (await resp.json())["errors"]] == ["personal_id"]


async def test_oversized_body_is_413(stack: Stack) -> None:
    big = b'{"full_name": "' + b"a" * (stack.settings.gateway.max_body_bytes + 10) + b'"}'
    resp = await stack.client.post(VERIFY, data=big, headers=authed(stack, JSON))
    assert resp.status == 413
    assert (await resp.json())["type"] == ProblemType.TOO_LARGE

    async def chunks() -> Any:  # no Content-Length: the limit still holds
        for _ in range(200):
            yield b"a" * 1024

    resp = await stack.client.post(VERIFY, data=chunks(), headers=authed(stack, JSON))
    assert resp.status == 413


@pytest.mark.parametrize(
    ("path", "ptype"),
    [
        ("/v1/nope/citizen-verify", ProblemType.UNKNOWN_OPERATION),
        ("/v1/population/nope", ProblemType.UNKNOWN_OPERATION),
        ("/v2/population/citizen-verify", ProblemType.NOT_FOUND),
    ],
)
async def test_unknown_adapter_or_operation_is_404(stack: Stack, path: str, ptype: str) -> None:
    resp = await stack.client.post(path, data=b"{}", headers=authed(stack, JSON))
    assert resp.status == 404
    assert (await resp.json())["type"] == ptype


async def test_wrong_method_is_405_with_allow(stack: Stack) -> None:
    resp = await stack.client.get(VERIFY, headers=authed(stack, {}))
    assert resp.status == 405
    assert resp.headers["Allow"] == "POST"
    assert resp.content_type == PROBLEM_CONTENT_TYPE


async def test_bad_timeout_header_is_400(stack: Stack, citizen: dict[str, Any]) -> None:
    for value in ("abc", "0", "-1", "9999"):
        resp = await stack.post(VERIFY, citizen, headers={"LGSP-Timeout": value})
        assert resp.status == 400, value


async def test_health_and_readiness(stack: Stack) -> None:
    assert (await stack.client.get("/healthz")).status == 200
    resp = await stack.client.get("/readyz")
    assert resp.status == 200
    assert (await resp.json())["status"] == "ready"


async def test_deadline_passing_gives_504_without_hanging(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    await stack.faults("population", {"latency_ms": 3000})
    resp = await asyncio.wait_for(
        stack.post(VERIFY, citizen, headers={"LGSP-Timeout": "0.5"}), timeout=5
    )
    assert resp.status == 504
    problem = await resp.json()
    assert problem["type"] == ProblemType.DEADLINE


async def test_transient_central_errors_are_retried_and_logged(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    await stack.faults("population", {"error_rate": 0.3, "error_status": 503})
    with capture_logs() as logs:
        statuses = [(await stack.post(VERIFY, citizen)).status for _ in range(30)]
    assert statuses == [200] * 30
    assert any(e["event"] == "central.retry" for e in logs)


async def test_personal_data_needs_the_purpose_trail(stack: Stack, citizen: dict[str, Any]) -> None:
    before = await stack.central_calls()
    resp = await stack.client.post(VERIFY, json=citizen, headers=authed(stack, {}))
    assert resp.status == 422
    fields = {e["field"] for e in (await resp.json())["errors"]}
    assert fields == {f"header.{h}" for h in PURPOSE}
    resp = await stack.post(VERIFY, citizen, headers={"LGSP-Procedure-Code": "not-a-code"})
    assert resp.status == 422
    assert await stack.central_calls() == before


async def test_direct_reply_to_serves_the_same_answers(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any], citizen: dict[str, Any]
) -> None:
    """The optional reply path (bus.reply_path = "direct"): same answers, no reply queue."""
    async with running_stack(
        rabbit, mock_settings, generated, bus={"url": rabbit.url, "reply_path": "direct"}
    ) as stack:
        for _ in range(5):
            resp = await stack.post(VERIFY, citizen)
            assert resp.status == 200
            assert (await resp.json())["matched"] is True
        queues = rabbit.api("GET", f"/api/queues/{rabbit.vhost}")
        assert not [q for q in queues if q["name"].startswith("lgsp.replies.")]
