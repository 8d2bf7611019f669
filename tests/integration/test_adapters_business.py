"""The business adapter end to end: gateway → broker → worker → business registry mock."""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp

from mocks.data import Dataset
from schemas.problems import ProblemType
from tests.support.stack import Stack

LOOKUP = "/v1/business/enterprise-lookup"
# Well-formed (valid check digit) but outside the Hải Phòng data set.
UNREGISTERED = "0100000109"


async def detail_calls(stack: Stack) -> dict[str, Any]:
    stats = await stack.mock_stats("business")
    return dict(stats["operations"].get("chiTietDoanhNghiep", {"calls": 0, "statuses": {}}))


async def token_calls(stack: Stack) -> int:
    stats = await stack.mock_stats("business")
    return int(stats["operations"].get("token", {"calls": 0})["calls"])


async def test_enterprise_lookup_answers_the_local_model(stack: Stack, dataset: Dataset) -> None:
    msdn = dataset.examples()["business"]["msdn"]
    resp = await stack.post(LOOKUP, {"tax_code": msdn})
    assert resp.status == 200
    enterprise = (await resp.json())["enterprise"]
    expected = dataset.enterprise_by_msdn(msdn)
    assert expected is not None
    assert enterprise["tax_code"] == msdn
    assert enterprise["names"]["vi"] == expected.name
    day, month, year = expected.founding_date.split("/")
    assert enterprise["founding_date"] == f"{year}-{month}-{day}"
    assert enterprise["status"] == "active"
    assert enterprise["last_amendment_date"] is None
    assert enterprise["head_office"]["province_code"] == "31"
    assert sum(a["is_main"] for a in enterprise["activities"]) == 1
    assert enterprise["representatives"][0]["personal_id"]


async def test_dependent_unit_code_without_hyphen(stack: Stack, dataset: Dataset) -> None:
    branch = next(e.msdn for e in (dataset.enterprise(n) for n in range(400)) if "-" in e.msdn)
    resp = await stack.post(LOOKUP, {"tax_code": branch.replace("-", "")})
    assert resp.status == 200
    assert (await resp.json())["enterprise"]["type"] == "branch"


async def test_invalid_tax_codes_are_422_naming_the_field_before_publishing(
    stack: Stack,
) -> None:
    before = await stack.central_calls("business")
    for bad in ("0223567698", "12345", "0223567699-000", 223567699):
        resp = await stack.post(LOOKUP, {"tax_code": bad})
        assert resp.status == 422
        problem = await resp.json()
        assert problem["type"] == ProblemType.VALIDATION
        assert [e["field"] for e in problem["errors"]] == ["tax_code"]
        assert str(bad) not in problem["detail"]
    assert await stack.central_calls("business") == before


async def test_unregistered_enterprise_is_404_and_not_retried(stack: Stack) -> None:
    before = (await detail_calls(stack))["calls"]
    resp = await stack.post(LOOKUP, {"tax_code": UNREGISTERED})
    assert resp.status == 404
    problem = await resp.json()
    assert problem["type"] == ProblemType.RECORD_NOT_FOUND
    assert problem["source"] == "central"
    assert UNREGISTERED not in problem["detail"]
    assert (await detail_calls(stack))["calls"] == before + 1


async def test_token_expiry_mid_run_is_refreshed_without_a_failed_request(
    stack: Stack, dataset: Dataset
) -> None:
    msdn = dataset.examples()["business"]["msdn"]
    first = [await stack.post(LOOKUP, {"tax_code": msdn}) for _ in range(3)]
    assert [r.status for r in first] == [200] * 3
    assert await token_calls(stack) == 1  # cached between calls
    async with (
        aiohttp.ClientSession() as s,
        s.post(stack.mock_urls["business"] + "/_admin/expire-tokens") as r,
    ):
        assert (await r.json())["expired"] == 1
    # Concurrent callers after the expiry: each may meet the 401, one refresh serves them all.
    second = await asyncio.gather(*(stack.post(LOOKUP, {"tax_code": msdn}) for _ in range(8)))
    assert [r.status for r in second] == [200] * 8
    assert await token_calls(stack) == 2
    assert (await detail_calls(stack))["statuses"].get("401", 0) >= 1


async def test_deadline_gives_504(stack: Stack, dataset: Dataset) -> None:
    await stack.faults("business", {"latency_ms": 3000, "paths": ["/apiCSDLDKDN"]})
    msdn = dataset.examples()["business"]["msdn"]
    resp = await asyncio.wait_for(
        stack.post(LOOKUP, {"tax_code": msdn}, headers={"LGSP-Timeout": "0.5"}), timeout=5
    )
    assert resp.status == 504
    assert (await resp.json())["type"] == ProblemType.DEADLINE
