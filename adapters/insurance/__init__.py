"""The insurance adapter: the social-insurance database (JSON POST, camelCase, API key).

Operations (all on personal data):
- `participant-lookup`: a participant and their insured household by social-insurance code;
- `contribution-history`: monthly contributions over a month range (at most 10 years);
- `health-card-verify`: whether a health-insurance card is valid on a day, its validity
  range, registered clinic and benefit level;
- `code-search`: the social-insurance codes of people matching a name and date of birth.
"""

from __future__ import annotations

import secrets
from typing import Any

from adapters.insurance import wire
from adapters.insurance.client import CARD, HISTORY, HOUSEHOLD, SEARCH, InsuranceClient
from adapters.interface import Adapter, Context
from schemas.config import RetrySettings
from schemas.insurance import (
    CodeSearchRequest,
    CodeSearchResponse,
    ContributionHistoryRequest,
    ContributionHistoryResponse,
    HealthCardVerifyRequest,
    HealthCardVerifyResponse,
    ParticipantLookupRequest,
    ParticipantLookupResponse,
)


def _demo_credentials() -> dict[str, str]:
    """One API key, sent with every call."""
    return {"api_key": secrets.token_urlsafe(24)}


adapter: Adapter[InsuranceClient] = Adapter(
    "insurance",
    title="Social insurance database",
    connect=InsuranceClient,
    base_url="http://127.0.0.1:8703",
    demo_credentials=_demo_credentials,
    # Provincial replicas behind a load balancer: failures are brief but answers slower
    # (history queries scan months); more patient attempts, moderate backoff.
    retry=RetrySettings(attempts=6, initial_backoff=0.1, max_backoff=1.0, attempt_timeout=5.0),
)

SEX_CODES = {"male": 1, "female": 2, "other": 3}


@adapter.operation(
    "participant-lookup",
    personal_data=True,
    subject="social_insurance_code",
    example={"social_insurance_code": "3100000001"},  # synthetic
    field_groups={"household": ("participant.household_members",)},
)
async def participant_lookup(
    req: ParticipantLookupRequest, ctx: Context[InsuranceClient]
) -> ParticipantLookupResponse:
    """A social-insurance participant and their insured household, by social-insurance code."""
    data = await ctx.client.call(HOUSEHOLD, {"maSoBhxh": req.social_insurance_code}, ctx.purpose)
    return ParticipantLookupResponse(participant=wire.participant(data))


@adapter.operation(
    "contribution-history",
    personal_data=True,
    subject="social_insurance_code",
    example={"social_insurance_code": "3100000001", "from_month": "2025-01", "to_month": "2025-12"},
)
async def contribution_history(
    req: ContributionHistoryRequest, ctx: Context[InsuranceClient]
) -> ContributionHistoryResponse:
    """Monthly social-insurance contributions over a range of months (YYYY-MM, at most 10 years)."""
    data = await ctx.client.call(
        HISTORY,
        {
            "maSoBhxh": req.social_insurance_code,
            "tuThang": wire.from_month(req.from_month),
            "denThang": wire.from_month(req.to_month),
        },
        ctx.purpose,
    )
    return wire.history(data)


@adapter.operation(
    "health-card-verify",
    personal_data=True,
    subject="card_code",
    example={"card_code": "DN4313100000001", "check_date": "2026-06-01"},  # synthetic
)
async def health_card_verify(
    req: HealthCardVerifyRequest, ctx: Context[InsuranceClient]
) -> HealthCardVerifyResponse:
    """Whether a health-insurance card is valid on a day (today when not given)."""
    body: dict[str, Any] = {"maThe": req.card_code}
    if req.check_date is not None:
        body["ngayKiemTra"] = req.check_date.strftime("%Y%m%d")
    if req.full_name is not None:
        body["hoTen"] = req.full_name
    if req.date_of_birth is not None:
        body["ngaySinh"] = req.date_of_birth.strftime("%Y%m%d")
    return wire.card(await ctx.client.call(CARD, body, ctx.purpose))


@adapter.operation(
    "code-search",
    personal_data=True,
    subject="full_name",
    example={"full_name": "Nguyễn Văn Mẫu", "date_of_birth": "1990-01"},  # synthetic
    match_result="matches",
    # A search by name and birth year must not hand out full birth dates, personal IDs and
    # birth places: the codes, names, birth years and sexes only, unless granted.
    field_groups={
        "identity": (
            "matches.date_of_birth",
            "matches.birth_month",
            "matches.personal_id",
            "matches.birth_registration_place",
        )
    },
)
async def code_search(req: CodeSearchRequest, ctx: Context[InsuranceClient]) -> CodeSearchResponse:
    """Find social-insurance codes by name and (partial) date of birth."""
    body: dict[str, Any] = {"hoTen": req.full_name, "ngaySinh": req.date_of_birth.replace("-", "")}
    if req.sex is not None:
        body["gioiTinh"] = SEX_CODES[req.sex]
    for field, name in (
        ("maTinhKs", req.province_code),
        ("maHuyenKs", req.district_code),
        ("maXaKs", req.ward_code),
    ):
        if name is not None:
            body[field] = name
    return CodeSearchResponse(
        matches=wire.matches(await ctx.client.call(SEARCH, body, ctx.purpose))
    )
