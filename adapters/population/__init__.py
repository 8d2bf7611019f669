"""The population adapter: the national population database (SOAP, X-Road-style auth).

Operations:
- `citizen-verify`: match a citizen by personal ID, full name and date of birth;
  answers whether they match and (on a match) the record. An unknown ID and a
  wrong name or birth date both answer `matched: false`; which claim failed
  (`personal_id` for an unknown ID) is the field group `mismatch-detail`.
- `residence-declaration`: declare a temporary residence; a write, de-duplicated
  by the caller's `Idempotency-Key` at the population service itself.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from adapters.errors import CentralProtocolError
from adapters.interface import Adapter, Context
from adapters.population import wire
from adapters.population.client import DECLARE_PATH, LOOKUP_PATH, PopulationClient
from schemas.config import RetrySettings
from schemas.population import (
    CitizenVerifyRequest,
    CitizenVerifyResponse,
    ResidenceDeclarationRequest,
    ResidenceDeclarationResponse,
)


def _demo_credentials() -> dict[str, str]:
    """X-Road style: the calling system's id, a user, an API key and a signing secret."""
    return {
        "client": "VN/GOV/000.00.31.H29/LGSP-HP",
        "user": "lgsp-hp",
        "api_key": secrets.token_urlsafe(24),
        "secret": secrets.token_urlsafe(24),
    }


adapter: Adapter[PopulationClient] = Adapter(
    "population",
    title="National population database",
    connect=PopulationClient,
    base_url="http://127.0.0.1:8701",
    demo_credentials=_demo_credentials,
    # A national service shared by every province: a few quick retries, then give up.
    retry=RetrySettings(attempts=8, initial_backoff=0.05, max_backoff=0.8, attempt_timeout=3.0),
)


def _requester(ctx: Context[PopulationClient]) -> dict[str, str]:
    purpose = ctx.purpose
    if purpose is None:  # the gateway requires it for personal data; refuse rather than guess
        raise CentralProtocolError("no purpose trail on a personal-data request")
    return {
        "MaYeuCau": ctx.request_id,
        "MaDVC": purpose.procedure_code,
        "MaCanBo": purpose.officer_id,
        "MaDonVi": ctx.client.unit,
        "MaHoSoTTHC": purpose.case_id,
    }


@adapter.operation(
    "citizen-verify",
    personal_data=True,
    subject="personal_id",
    # Synthetic values ("Mẫu" is Vietnamese for "sample"), never a real person's.
    example={
        "personal_id": "031090000001",
        "full_name": "Nguyễn Văn Mẫu",
        "date_of_birth": "1990-01-01",
    },
    match_result="matched",
    field_groups={
        # Which claim failed: without it, an unknown ID and a wrong birth date look alike.
        "mismatch-detail": ("mismatched_fields",),
        "sensitive": ("citizen.ethnicity", "citizen.religion", "citizen.blood_group"),
        "family": ("citizen.father", "citizen.mother", "citizen.spouse", "citizen.household_head"),
        "addresses": (
            "citizen.hometown",
            "citizen.birth_registration_place",
            "citizen.permanent_address",
            "citizen.current_address",
        ),
    },
)
async def citizen_verify(
    req: CitizenVerifyRequest, ctx: Context[PopulationClient]
) -> CitizenVerifyResponse:
    """Verify a citizen's identity against the national population database."""
    body = wire.envelope(
        "TraCuuThongTinCongDan",
        {
            **_requester(ctx),
            "SoDinhDanh": req.personal_id,
            "HoVaTen": req.full_name,
            "NgayThangNamSinh": req.date_of_birth.strftime("%Y%m%d"),
        },
    )
    answer = await ctx.client.call(LOOKUP_PATH, body)
    outcome = wire.text(answer, "KetQuaDoiChieu")
    if outcome == "KHONG_TON_TAI":  # not a 404: the ID's existence is no one's business
        return CitizenVerifyResponse(matched=False, mismatched_fields=["personal_id"], citizen=None)
    if outcome == "KHONG_KHOP":
        return CitizenVerifyResponse(
            matched=False, mismatched_fields=wire.mismatched(answer), citizen=None
        )
    record = wire.child(wire.child(answer, "DanhSachCongDan"), "CongDan")
    if outcome != "KHOP" or record is None:
        raise CentralProtocolError("unexpected match outcome from the population service")
    return CitizenVerifyResponse(matched=True, mismatched_fields=[], citizen=wire.citizen(record))


@adapter.operation(
    "residence-declaration",
    personal_data=True,
    write=True,
    subject="personal_id",
    example={
        "personal_id": "031090000001",
        "full_name": "Nguyễn Văn Mẫu",
        "address": {
            "detail": "Số 1 Đường Mẫu",
            "province_code": "31",
            "district_code": "304",
            "ward_code": "11356",
        },
        "from_date": "2026-01-01",
        "to_date": "2026-12-31",
        "reason": "Đi làm",
    },
)
async def residence_declaration(
    req: ResidenceDeclarationRequest, ctx: Context[PopulationClient]
) -> ResidenceDeclarationResponse:
    """Declare a temporary residence (a write: send an Idempotency-Key)."""
    if ctx.idempotency_key is None:  # the gateway requires it on writes; never write without
        raise CentralProtocolError("a write without an Idempotency-Key")
    body = wire.envelope(
        "KhaiBaoTamTru",
        {
            **_requester(ctx),
            "SoDinhDanh": req.personal_id,
            "HoVaTen": req.full_name,
            "DiaChiTamTru": {
                "ChiTiet": req.address.detail,
                "MaTinhThanh": req.address.province_code,
                "MaQuanHuyen": req.address.district_code,
                "MaPhuongXa": req.address.ward_code,
                "QuocGia": "VN",
            },
            "TuNgay": req.from_date.strftime("%Y%m%d"),
            "DenNgay": req.to_date.strftime("%Y%m%d"),
            "LyDo": req.reason,
        },
    )
    answer = await ctx.client.call(DECLARE_PATH, body, {"Idempotency-Key": ctx.idempotency_key})
    declaration_id = wire.text(answer, "MaHoSo")
    received = wire.text(answer, "ThoiGianTiepNhan")
    if declaration_id is None or received is None:
        raise CentralProtocolError("incomplete declaration receipt from the population service")
    try:
        registered_at = datetime.fromisoformat(received)
    except ValueError as exc:
        raise CentralProtocolError("invalid receipt time from the population service") from exc
    return ResidenceDeclarationResponse(
        declaration_id=declaration_id, status="registered", registered_at=registered_at
    )
