"""The insurance adapter end to end: gateway → broker → worker → social-insurance mock."""

from __future__ import annotations

from typing import Any

import pytest

from mocks.data import Dataset
from schemas.problems import ProblemType
from tests.support.stack import Stack

BASE = "/v1/insurance/"


@pytest.fixture(scope="module")
def insured(dataset: Dataset) -> dict[str, Any]:
    example: dict[str, Any] = dataset.examples()["insurance"]
    return example


async def test_participant_lookup(stack: Stack, insured: dict[str, Any]) -> None:
    resp = await stack.post(
        BASE + "participant-lookup", {"social_insurance_code": insured["maSoBhxh"]}
    )
    assert resp.status == 200
    p = (await resp.json())["participant"]
    assert p["social_insurance_code"] == insured["maSoBhxh"]
    assert p["full_name"] == insured["hoTen"]
    born = insured["ngaySinh"]
    assert p["date_of_birth"] == f"{born[:4]}-{born[4:6]}-{born[6:]}"
    assert p["birth_date_precision"] == "day"
    assert p["sex"] == {1: "male", 2: "female", 3: "other"}[insured["gioiTinh"]]
    assert p["status"] in {"participating", "paused", "stopped"}
    assert p["household_members"]


async def test_contribution_history(stack: Stack, insured: dict[str, Any]) -> None:
    body = {
        "social_insurance_code": insured["maSoBhxh"],
        "from_month": "2025-01",
        "to_month": "2025-12",
    }
    resp = await stack.post(BASE + "contribution-history", body)
    assert resp.status == 200
    history = await resp.json()
    assert (history["from_month"], history["to_month"]) == ("2025-01", "2025-12")
    months = [c["month"] for c in history["contributions"]]
    assert months == sorted(months)
    assert all("2025-01" <= m <= "2025-12" for m in months)
    assert history["months_with_contributions"] == len(months)


async def test_health_card_verify(stack: Stack, insured: dict[str, Any]) -> None:
    body = {"card_code": insured["maThe"], "check_date": "2026-06-01"}
    resp = await stack.post(BASE + "health-card-verify", body)
    assert resp.status == 200
    card = await resp.json()
    assert card["valid"] is True
    assert card["invalid_reason"] is None
    assert card["check_date"] == "2026-06-01"
    assert card["valid_from"] <= "2026-06-01" <= card["valid_to"]
    assert card["benefit_level"] == int(insured["maThe"][2])
    assert card["clinic_code"]
    expired = await stack.post(BASE + "health-card-verify", {**body, "check_date": "2030-01-01"})
    assert (await expired.json())["invalid_reason"] == "expired"


async def test_code_search(stack: Stack, insured: dict[str, Any]) -> None:
    born = insured["ngaySinh"]
    body = {"full_name": insured["hoTen"], "date_of_birth": f"{born[:4]}-{born[4:6]}"}
    resp = await stack.post(BASE + "code-search", body)
    assert resp.status == 200
    codes = {m["social_insurance_code"] for m in (await resp.json())["matches"]}
    assert insured["maSoBhxh"] in codes


@pytest.mark.parametrize(
    ("operation", "body", "field"),
    [
        ("participant-lookup", {"social_insurance_code": "31077422"}, "social_insurance_code"),
        ("participant-lookup", {"social_insurance_code": "31077422ab"}, "social_insurance_code"),
        ("contribution-history",
         {"social_insurance_code": "3107742269", "from_month": "2025-13", "to_month": "2025-12"},
         "from_month"),
        ("health-card-verify", {"card_code": "ZZ4313107742269"}, "card_code"),
        ("health-card-verify", {"card_code": "DN431310774226"}, "card_code"),
        ("code-search", {"full_name": "Bùi Thị Lan", "date_of_birth": "1990-13"}, "date_of_birth"),
    ],
)  # fmt: skip
async def test_invalid_identifiers_are_422_naming_the_field_before_publishing(
    stack: Stack, operation: str, body: dict[str, Any], field: str
) -> None:
    before = await stack.central_calls("insurance")
    resp = await stack.post(BASE + operation, body)
    assert resp.status == 422
    problem = await resp.json()
    assert problem["type"] == ProblemType.VALIDATION
    assert field in [e["field"] for e in problem["errors"]]
    assert await stack.central_calls("insurance") == before


async def test_month_range_out_of_order_or_too_long_is_422(stack: Stack) -> None:
    before = await stack.central_calls("insurance")
    for first, last in (("2025-06", "2025-05"), ("2010-01", "2025-12")):
        body = {"social_insurance_code": "3107742269", "from_month": first, "to_month": last}
        resp = await stack.post(BASE + "contribution-history", body)
        assert resp.status == 422
    assert await stack.central_calls("insurance") == before


async def test_unknown_participant_and_card_are_404(stack: Stack) -> None:
    for operation, body in (
        ("participant-lookup", {"social_insurance_code": "9900000000"}),
        ("health-card-verify", {"card_code": "DN4319900000000"}),
        ("contribution-history",
         {"social_insurance_code": "9900000000", "from_month": "2025-01", "to_month": "2025-02"}),
    ):  # fmt: skip
        resp = await stack.post(BASE + operation, body)
        assert resp.status == 404, operation
        problem = await resp.json()
        assert problem["type"] == ProblemType.RECORD_NOT_FOUND
        assert "9900000000" not in problem["detail"]


async def test_details_not_matching_the_card_are_rejected_by_the_central_system(
    stack: Stack, insured: dict[str, Any]
) -> None:
    body = {"card_code": insured["maThe"], "full_name": "Người Khác Hẳn"}
    resp = await stack.post(BASE + "health-card-verify", body)
    assert resp.status == 422
    problem = await resp.json()
    assert problem["type"] == ProblemType.CENTRAL_REJECTED
    assert problem["source"] == "central"
