"""Access rights, field minimisation, the purpose trail and rate limits on the real stack."""

from __future__ import annotations

import asyncio
from typing import Any

from mocks.settings import MockSettings
from schemas.envelope import Header
from tests.integration.security_support import bearer, clients, tap
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, running_stack

VERIFY = "/v1/population/citizen-verify"
DECLARE = "/v1/population/residence-declaration"
SENSITIVE = {"ethnicity", "religion", "blood_group"}
FAMILY = {"father", "mother", "spouse", "household_head"}
AUTH = clients(
    verifier={"allow": ["population/citizen-verify"]},
    health={"allow": ["population/citizen-verify#sensitive"]},
    declarer={"allow": ["population/residence-declaration"]},
    nothing={"allow": []},
    slow={"allow": ["population/citizen-verify"], "rate_limit": {"rate": 0.5, "burst": 2}},
)


def declaration(citizen: dict[str, Any]) -> dict[str, Any]:
    return {
        "personal_id": citizen["personal_id"],
        "full_name": citizen["full_name"],
        "address": {
            "detail": "Số 12 Lạch Tray",
            "province_code": "31",
            "district_code": "304",
            "ward_code": "11311",
        },
        "from_date": "2026-02-01",
        "to_date": "2026-08-01",
    }


async def test_a_client_cannot_call_another_clients_operations(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
) -> None:
    async with (
        running_stack(rabbit, mock_settings, generated, auth=AUTH) as stack,
        tap(rabbit) as t,
    ):
        write = {"Idempotency-Key": "case-000123-decl"}
        cases = [
            ("verifier", DECLARE, declaration(citizen), write),
            ("declarer", VERIFY, citizen, {}),
            ("nothing", VERIFY, citizen, {}),
        ]
        for client_id, path, body, extra in cases:
            response = await stack.post(path, body, {**bearer(stack.token(client_id)), **extra})
            assert response.status == 403, (client_id, path)
            problem = await response.json()
            assert problem["type"].endswith("/forbidden")
        assert await t.count() == 0  # refused before anything was published
        own = await stack.post(VERIFY, citizen, bearer(stack.token("verifier")))
        assert own.status == 200
        unknown = await stack.post(
            "/v1/population/no-such-thing", {}, bearer(stack.token("verifier"))
        )
        assert unknown.status == 404


async def test_fields_of_groups_not_granted_are_removed_from_the_answer(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
) -> None:
    async with running_stack(rabbit, mock_settings, generated, auth=AUTH) as stack:
        full = await (await stack.post(VERIFY, citizen)).json()
        assert set(full["citizen"]) >= SENSITIVE | FAMILY  # the central answer carries them
        minimal = await (await stack.post(VERIFY, citizen, bearer(stack.token("verifier")))).json()
        assert minimal["matched"] is True
        assert minimal["citizen"]["full_name"] == full["citizen"]["full_name"]
        assert not (SENSITIVE | FAMILY) & set(minimal["citizen"])
        health = await (await stack.post(VERIFY, citizen, bearer(stack.token("health")))).json()
        assert set(health["citizen"]) >= SENSITIVE
        assert not FAMILY & set(health["citizen"])


async def test_services_lists_only_what_the_caller_may_call(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any]
) -> None:
    async with running_stack(rabbit, mock_settings, generated, auth=AUTH) as stack:

        async def listed(client_id: str) -> list[dict[str, Any]]:
            response = await stack.client.get(
                "/v1/services", headers=bearer(stack.token(client_id))
            )
            assert response.status == 200
            services: list[dict[str, Any]] = (await response.json())["services"]
            return services

        (verify,) = await listed("verifier")
        assert verify["path"] == VERIFY
        assert verify["personal_data"] is True
        assert verify["field_groups"]["granted"] == []
        assert set(verify["field_groups"]["withheld"]) >= {"sensitive", "family"}
        assert "personal_id" in verify["request_schema"]["properties"]
        assert "matched" in verify["response_schema"]["properties"]
        assert [s["path"] for s in await listed("declarer")] == [DECLARE]
        assert await listed("nothing") == []
        assert {s["path"] for s in await listed("tests")} >= {VERIFY, DECLARE}


async def test_the_purpose_trail_is_required_and_travels_on_the_bus(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
) -> None:
    async with running_stack(rabbit, mock_settings, generated) as stack, tap(rabbit) as t:
        token = bearer(stack.token())
        for header in PURPOSE:
            headers = {**PURPOSE, **token}
            del headers[header]
            response = await stack.client.post(VERIFY, json=citizen, headers=headers)
            assert response.status == 422, header
            fields = [e["field"] for e in (await response.json())["errors"]]
            assert fields == [f"header.{header}"]
        malformed = {**PURPOSE, **token, "LGSP-Case-Id": "bad value with spaces"}
        assert (await stack.client.post(VERIFY, json=citizen, headers=malformed)).status == 422
        assert await t.count() == 0
        assert (await stack.post(VERIFY, citizen)).status == 200
        (message,) = await t.messages()
        sent = message.headers or {}
        assert sent[Header.OFFICER_ID] == PURPOSE["LGSP-Officer-Id"]
        assert sent[Header.PROCEDURE_CODE] == PURPOSE["LGSP-Procedure-Code"]
        assert sent[Header.CASE_ID] == PURPOSE["LGSP-Case-Id"]
        assert sent[Header.CLIENT_ID] == "tests"


async def test_one_client_over_its_rate_gets_429_while_another_proceeds(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
) -> None:
    async with running_stack(rabbit, mock_settings, generated, auth=AUTH) as stack:
        slow = bearer(stack.token("slow"))
        first = [await stack.post(VERIFY, citizen, slow) for _ in range(2)]
        assert [r.status for r in first] == [200, 200]
        limited = await stack.post(VERIFY, citizen, slow)
        assert limited.status == 429
        assert int(limited.headers["Retry-After"]) >= 1
        assert (await limited.json())["type"].endswith("/rate-limited")
        others = await asyncio.gather(*(stack.post(VERIFY, citizen) for _ in range(10)))
        assert [r.status for r in others] == [200] * 10
        assert (await stack.post(VERIFY, citizen, slow)).status == 429
