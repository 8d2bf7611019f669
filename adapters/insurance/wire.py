"""The social-insurance database's wire format: camelCase JSON in an envelope.

Every answer is `{"maLoi", "moTa", "duLieu"}`. The central-facing models below
carry the database's own names (as aliases), ignore fields they do not know
and map into schemas/insurance.py. Dates of birth come per `loaiNgaySinh`
(0 yyyyMMdd, 1 yyyy, 2 yyyyMM), months as yyyyMM, days as yyyyMMdd.
Vietnamese text is normalised to NFC.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from adapters.errors import CentralProtocolError
from schemas.insurance import (
    BirthDatePrecision,
    Contribution,
    ContributionHistoryResponse,
    ContributionKind,
    HealthCardVerifyResponse,
    HouseholdMember,
    InvalidReason,
    Participant,
    ParticipationStatus,
    Person,
    PlaceCodes,
    Sex,
)

M = TypeVar("M", bound=BaseModel)

OK = "00"
NOT_FOUND = "01"
INVALID_INPUT = "02"
UNAUTHORISED = "03"
DETAILS_MISMATCH = "04"
INTERNAL = "99"

SEXES = {1: Sex.MALE, 2: Sex.FEMALE, 3: Sex.OTHER}
STATUSES = {
    "1": ParticipationStatus.PARTICIPATING,
    "2": ParticipationStatus.PAUSED,
    "3": ParticipationStatus.STOPPED,
}
KINDS = {"BB": ContributionKind.COMPULSORY, "TN": ContributionKind.VOLUNTARY}
INVALID_REASONS: dict[str, InvalidReason] = {
    "thẻ hết hạn": "expired",
    "thẻ chưa đến thời hạn sử dụng": "not_yet_valid",
}
BIRTH_FORMATS: dict[int, tuple[str, BirthDatePrecision]] = {
    0: ("%Y%m%d", "day"),
    1: ("%Y", "year"),
    2: ("%Y%m", "month"),
}


def _text(value: object) -> object:
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    return value


WireText = Annotated[str | None, BeforeValidator(_text)]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class Envelope(_Wire):
    code: str = Field(alias="maLoi")
    message: WireText = Field(None, alias="moTa")
    data: Any = Field(None, alias="duLieu")


class WirePerson(_Wire):
    code: Annotated[str, Field(pattern=r"^\d{10}$")] = Field(alias="maSoBhxh")
    full_name: WireText = Field(None, alias="hoTen")
    birth: WireText = Field(None, alias="ngaySinh")
    birth_kind: int | None = Field(None, alias="loaiNgaySinh")
    sex: int | None = Field(None, alias="gioiTinh")
    province: WireText = Field(None, alias="maTinhKs")
    district: WireText = Field(None, alias="maHuyenKs")
    ward: WireText = Field(None, alias="maXaKs")
    personal_id: WireText = Field(None, alias="soDinhDanh")


class WireMember(WirePerson):
    relation: WireText = Field(None, alias="quanHeChuHo")


class WireParticipant(WireMember):
    status: WireText = Field(None, alias="trangThai")
    status_name: WireText = Field(None, alias="trangThaiMoTa")
    household_id: WireText = Field(None, alias="maHoGd")
    members: list[WireMember] = Field(default_factory=list, alias="thanhVienHgd")


class WireMonth(_Wire):
    month: str = Field(alias="thang", pattern=r"^\d{4}(0[1-9]|1[0-2])$")
    employer_code: WireText = Field(None, alias="maDonVi")
    employer_name: WireText = Field(None, alias="tenDonVi")
    salary: int | None = Field(None, alias="mucLuong")
    amount: int | None = Field(None, alias="soTien")
    kind: WireText = Field(None, alias="loaiDong")


class WireHistory(_Wire):
    code: str = Field(alias="maSoBhxh")
    full_name: WireText = Field(None, alias="hoTen")
    from_month: str = Field(alias="tuThang", pattern=r"^\d{6}$")
    to_month: str = Field(alias="denThang", pattern=r"^\d{6}$")
    months: int | None = Field(None, alias="tongSoThang")
    rows: list[WireMonth] = Field(default_factory=list, alias="danhSach")


class WireCard(WirePerson):
    card: str = Field(alias="maThe")
    clinic_code: WireText = Field(None, alias="maKCB")
    clinic_name: WireText = Field(None, alias="tenKCB")
    valid_from: WireText = Field(None, alias="tuNgayDt")
    valid_to: WireText = Field(None, alias="denNgayDt")
    benefit_percent: int | None = Field(None, alias="mucHuong")
    check_date: str = Field(alias="ngayKiemTra", pattern=r"^\d{8}$")
    valid: bool = Field(alias="conHieuLuc")
    reason: WireText = Field(None, alias="lyDo")


def parse_envelope(raw: bytes) -> Envelope:
    return validate(Envelope, raw)


def validate(model: type[M], raw: bytes | Any) -> M:
    """Bytes or already-decoded JSON → a wire model; anything unusable → CentralProtocolError."""
    try:
        if isinstance(raw, bytes):
            return model.model_validate_json(raw)
        return model.model_validate(raw)
    except ValidationError as exc:
        # Which rule failed and where, never the value: answers hold personal data.
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"]) or "body"
        raise CentralProtocolError(
            f"unusable answer from the insurance service ({first['type']} at {where})"
        ) from exc


# -- the local side -----------------------------------------------------------------------


def ymd(value: str) -> date:
    return datetime.strptime(value, "%Y%m%d").date()


def _day(value: str | None) -> date | None:
    return None if value is None else _required_day(value)


def _required_day(value: str) -> date:
    try:
        return ymd(value)
    except ValueError as exc:
        raise CentralProtocolError("invalid date from the insurance service") from exc


def to_month(value: str) -> str:
    """yyyyMM → ISO 8601 YYYY-MM."""
    return f"{value[:4]}-{value[4:]}"


def from_month(value: str) -> str:
    """ISO 8601 YYYY-MM → yyyyMM."""
    return value.replace("-", "")


def _birth(p: WirePerson) -> dict[str, Any]:
    empty: dict[str, Any] = {
        "date_of_birth": None,
        "birth_year": None,
        "birth_month": None,
        "birth_date_precision": None,
    }
    if p.birth is None:
        return empty
    kind = BIRTH_FORMATS.get(p.birth_kind if p.birth_kind is not None else -1)
    if kind is None:
        raise CentralProtocolError("unknown loaiNgaySinh from the insurance service")
    fmt, precision = kind
    try:
        born = datetime.strptime(p.birth, fmt)
    except ValueError as exc:
        raise CentralProtocolError("date of birth does not fit its loaiNgaySinh") from exc
    return {
        "date_of_birth": born.date() if precision == "day" else None,
        "birth_year": born.year,
        "birth_month": born.month if precision != "year" else None,
        "birth_date_precision": precision,
    }


def _person_fields(p: WirePerson) -> dict[str, Any]:
    place = None
    if p.province or p.district or p.ward:
        place = PlaceCodes(province_code=p.province, district_code=p.district, ward_code=p.ward)
    return {
        "social_insurance_code": p.code,
        "full_name": p.full_name,
        **_birth(p),
        "sex": SEXES.get(p.sex) if p.sex is not None else None,
        "personal_id": p.personal_id,
        "birth_registration_place": place,
    }


def person(p: WirePerson) -> Person:
    return Person(**_person_fields(p))


def participant(data: Any) -> Participant:
    p = validate(WireParticipant, data)
    return Participant(
        **_person_fields(p),
        status=STATUSES.get(p.status or "", ParticipationStatus.UNKNOWN),
        status_name=p.status_name,
        household_id=p.household_id,
        relation_to_head=p.relation,
        household_members=[
            HouseholdMember(**_person_fields(m), relation_to_head=m.relation) for m in p.members
        ],
    )


def history(data: Any) -> ContributionHistoryResponse:
    h = validate(WireHistory, data)
    return ContributionHistoryResponse(
        social_insurance_code=h.code,
        full_name=h.full_name,
        from_month=to_month(h.from_month),
        to_month=to_month(h.to_month),
        months_with_contributions=h.months if h.months is not None else len(h.rows),
        contributions=[
            Contribution(
                month=to_month(r.month),
                employer_code=r.employer_code,
                employer_name=r.employer_name,
                salary=r.salary,
                amount=r.amount,
                kind=KINDS.get(r.kind or "", ContributionKind.UNKNOWN),
            )
            for r in h.rows
        ],
    )


def card(data: Any) -> HealthCardVerifyResponse:
    c = validate(WireCard, data)
    level = c.card[2] if len(c.card) == 15 and c.card[2].isdigit() else None
    reason: InvalidReason | None = None
    if not c.valid:
        reason = INVALID_REASONS.get((c.reason or "").casefold(), "unknown")
    return HealthCardVerifyResponse(
        card_code=c.card,
        valid=c.valid,
        invalid_reason=reason,
        check_date=_required_day(c.check_date),
        valid_from=_day(c.valid_from),
        valid_to=_day(c.valid_to),
        benefit_level=int(level) if level else None,
        benefit_percent=c.benefit_percent,
        clinic_code=c.clinic_code,
        clinic_name=c.clinic_name,
        holder=person(c),
    )


def matches(data: Any) -> list[Person]:
    if not isinstance(data, list):
        raise CentralProtocolError("the insurance service's search answer is not a list")
    return [person(validate(WirePerson, item)) for item in data]
