"""The population adapter end to end: gateway → broker → worker → population SOAP mock."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from pathlib import Path
from typing import Any

import aiohttp

from mocks.settings import MockSettings
from schemas.problems import ProblemType
from tests.support.processes import lgsp_process, write_config
from tests.support.rabbit import Rabbit
from tests.support.stack import Stack, config_values, running_stack
from tests.support.waiting import wait_for_consumers, wait_until

VERIFY = "/v1/population/citizen-verify"
DECLARE = "/v1/population/residence-declaration"
DECLARE_PATH = "/csdldc/v1/KhaiBaoTamTru"


def declaration(citizen: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {
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
    return {**body, **changes}


def new_key() -> str:
    return f"test-{uuid.uuid4()}"


async def stored(stack: Stack, key: str) -> int:
    url = f"{stack.mock_urls['population']}/_admin/residence-declarations"
    async with (
        aiohttp.ClientSession() as s,
        s.get(url, params={"idempotency_key": key}) as r,
    ):
        count: int = (await r.json())["count"]
        return count


async def test_citizen_verify_match_and_mismatch(stack: Stack, citizen: dict[str, Any]) -> None:
    resp = await stack.post(VERIFY, citizen)
    assert resp.status == 200
    answer = await resp.json()
    assert answer["matched"] is True
    assert answer["citizen"]["personal_id"] == citizen["personal_id"]
    assert answer["citizen"]["date_of_birth"] == citizen["date_of_birth"]
    resp = await stack.post(VERIFY, {**citizen, "full_name": "Người Không Khớp"})
    assert resp.status == 200
    answer = await resp.json()
    assert (answer["matched"], answer["mismatched_fields"], answer["citizen"]) == (
        False,
        ["full_name"],
        None,
    )


async def test_unknown_personal_id_is_a_failed_match_not_a_404(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    """No oracle (issue 16): an unknown ID is `matched: false` like a wrong claim; the stack's
    client holds every field group, `mismatch-detail` included, so it is told which."""
    unknown = citizen["personal_id"][:6] + "999999"
    resp = await stack.post(VERIFY, {**citizen, "personal_id": unknown})
    assert resp.status == 200
    assert await resp.json() == {
        "matched": False,
        "mismatched_fields": ["personal_id"],
        "citizen": None,
    }


async def test_invalid_personal_id_is_422_before_publishing(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    before = await stack.central_calls("population")
    for bad in ("03130187427", "999301874276", "03130187427x"):
        for path, body in ((VERIFY, {**citizen, "personal_id": bad}),
                           (DECLARE, declaration(citizen, personal_id=bad))):  # fmt: skip
            resp = await stack.post(path, body, headers={"Idempotency-Key": new_key()})
            assert resp.status == 422
            problem = await resp.json()
            assert "personal_id" in [e["field"] for e in problem["errors"]]
    assert await stack.central_calls("population") == before


async def test_unlicensed_procedure_is_rejected_by_the_central_system(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    resp = await stack.post(VERIFY, citizen, headers={"LGSP-Procedure-Code": "9.000001"})
    assert resp.status == 422
    problem = await resp.json()
    assert problem["type"] == ProblemType.CENTRAL_REJECTED
    assert problem["source"] == "central"


async def test_residence_declaration_is_idempotent_per_key(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    key = new_key()
    first = await stack.post(DECLARE, declaration(citizen), headers={"Idempotency-Key": key})
    assert first.status == 200
    receipt = await first.json()
    assert receipt["status"] == "registered"
    again = await stack.post(DECLARE, declaration(citizen), headers={"Idempotency-Key": key})
    assert again.status == 200
    assert (await again.json())["declaration_id"] == receipt["declaration_id"]
    assert await stored(stack, key) == 1
    other = declaration(citizen, to_date="2026-06-30")
    conflict = await stack.post(DECLARE, other, headers={"Idempotency-Key": key})
    assert conflict.status == 409
    assert (await conflict.json())["type"] == ProblemType.IDEMPOTENCY_CONFLICT
    assert await stored(stack, key) == 1
    missing = await stack.post(DECLARE, declaration(citizen))
    assert missing.status == 422


async def test_declaration_redelivered_after_a_killed_worker_is_stored_once(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    async with running_stack(rabbit, mock_settings, generated, workers=False) as stack:
        config = write_config(
            tmp_path / "lgsp.toml", config_values(rabbit.url, stack.mock_urls, generated)
        )
        faults_url = stack.mock_urls["population"] + "/_admin/faults/injected"

        async def held_by_the_mock() -> bool:
            async with aiohttp.ClientSession() as s, s.get(faults_url) as r:
                return int((await r.json())["hanging"]) >= 1

        key = new_key()
        headers = {"Idempotency-Key": key, "LGSP-Timeout": "30"}
        with lgsp_process(config, "worker", "population", log=tmp_path / "a.log") as worker_a:
            await wait_for_consumers(stack, 1)
            # The mock holds the declaration call open: worker A is mid-call when it dies.
            await stack.faults("population", {"hang_rate": 1.0, "paths": [DECLARE_PATH]})
            call = asyncio.create_task(stack.post(DECLARE, declaration(citizen), headers=headers))
            await wait_until(held_by_the_mock)
            with lgsp_process(config, "worker", "population", log=tmp_path / "b.log"):
                await wait_for_consumers(stack, 2)
                worker_a.send_signal(signal.SIGKILL)
                assert await asyncio.to_thread(worker_a.wait, 5) == -signal.SIGKILL
                await stack.faults("population", None)
                resp = await asyncio.wait_for(call, timeout=30)
                assert resp.status == 200, await resp.text()
                receipt = await resp.json()
                # The caller retries with the same key: same answer, no second record.
                again = await stack.post(DECLARE, declaration(citizen), headers=headers)
                assert (await again.json())["declaration_id"] == receipt["declaration_id"]
        assert await stored(stack, key) == 1
        survivor = [json.loads(line) for line in (tmp_path / "b.log").read_text().splitlines()]
        assert any(e.get("event") == "message.handled" and e.get("redelivered") for e in survivor)
