"""The business registry's wire format: its JSON envelope in, the local enterprise record out.

The central-facing models below carry the registry's own field names (as
aliases) and are tolerant of fields they do not know; everything they map
becomes the local contract of schemas/business.py. Dates come as dd/MM/yyyy,
an empty string meaning "none". Vietnamese text is normalised to NFC.
"""

from __future__ import annotations

import unicodedata
from datetime import date, datetime
from typing import Annotated, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from adapters.errors import CentralProtocolError
from adapters.interface import Purpose
from schemas.business import (
    BusinessActivity,
    Enterprise,
    EnterpriseNames,
    EnterpriseStatus,
    EnterpriseType,
    HeadOffice,
    Member,
    Representative,
    Sex,
)

STATUSES = {
    "đang hoạt động": EnterpriseStatus.ACTIVE,
    "tạm ngừng kinh doanh có thời hạn": EnterpriseStatus.SUSPENDED,
    "không hoạt động tại địa chỉ đã đăng ký": EnterpriseStatus.NOT_AT_REGISTERED_ADDRESS,
    "đang làm thủ tục giải thể": EnterpriseStatus.DISSOLVING,
    "đã giải thể": EnterpriseStatus.DISSOLVED,
}
TYPES = {
    "công ty trách nhiệm hữu hạn một thành viên": EnterpriseType.SINGLE_MEMBER_LLC,
    "công ty trách nhiệm hữu hạn hai thành viên trở lên": EnterpriseType.MULTI_MEMBER_LLC,
    "công ty cổ phần": EnterpriseType.JOINT_STOCK,
    "doanh nghiệp tư nhân": EnterpriseType.PRIVATE,
    "công ty hợp danh": EnterpriseType.PARTNERSHIP,
    "chi nhánh": EnterpriseType.BRANCH,
}
M = TypeVar("M", bound=BaseModel)
SEXES = {"nam": Sex.MALE, "nữ": Sex.FEMALE}
NOT_FOUND = "NOT_FOUND"
INVALID_MSDN = "INVALID_MSDN"


# The purpose trail, as the registry's request headers: officer, procedure code, case.
PURPOSE_HEADERS = ("X-MaCanBo", "X-MaTTHC", "X-MaHoSo")


def purpose_headers(purpose: Purpose | None) -> dict[str, str]:
    if purpose is None:
        return {}
    values = (purpose.officer_id, purpose.procedure_code, purpose.case_id)
    return dict(zip(PURPOSE_HEADERS, values, strict=True))


def _text(value: object) -> object:
    """NFC, trimmed; the registry's empty string means "none"."""
    if isinstance(value, str):
        value = unicodedata.normalize("NFC", value).strip()
        return value or None
    return value


def _ddmmyyyy(value: object) -> object:
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        return datetime.strptime(value, "%d/%m/%Y").date()  # ValueError: a validation error
    return value


WireText = Annotated[str | None, BeforeValidator(_text)]
WireDate = Annotated[date | None, BeforeValidator(_ddmmyyyy)]


class _Wire(BaseModel):
    # The registry may add fields: ignore them; never coerce a number out of thin air.
    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)


class MainInformation(_Wire):
    enterprise_id: WireText = Field(None, alias="ENTERPRISE_ID")
    tax_code: WireText = Field(None, alias="ENTERPRISE_GDT_CODE")
    type_name: WireText = Field(None, alias="ENTERPRISE_TYPE_NAME")
    name: WireText = Field(None, alias="NAME")
    short_name: WireText = Field(None, alias="SHORT_NAME")
    foreign_name: WireText = Field(None, alias="NAME_F")
    founding_date: WireDate = Field(None, alias="FOUNDING_DATE")
    last_amend_date: WireDate = Field(None, alias="LAST_AMEND_DATE")
    number_changes: int | None = Field(None, alias="NUMBER_CHANGES")
    status_name: WireText = Field(None, alias="ENTERPRISE_STATUS_NAME")
    capital_amount: int | None = Field(None, alias="CAPITAL_AMOUNT")


class HOAddress(_Wire):
    city_id: WireText = Field(None, alias="CityID")
    city_name: WireText = Field(None, alias="CityName")
    district_id: WireText = Field(None, alias="DistrictID")
    district_name: WireText = Field(None, alias="DistrictName")
    ward_id: WireText = Field(None, alias="WardID")
    ward_name: WireText = Field(None, alias="WardName")
    street_number: WireText = Field(None, alias="StreetNumber")
    full_text: WireText = Field(None, alias="AddressFullText")


class Activity(_Wire):
    code: Annotated[str, BeforeValidator(_text)] = Field(alias="CODE")
    name: WireText = Field(None, alias="NAME")
    is_main: bool = Field(False, alias="IS_MAIN")


class WireMember(_Wire):
    full_name: WireText = Field(None, alias="FULL_NAME")
    personal_id: WireText = Field(None, alias="PERSONAL_ID")
    capital_amount: int | None = Field(None, alias="CAPITAL_AMOUNT")
    capital_percent: float | None = Field(None, alias="CAPITAL_PERCENT", allow_inf_nan=False)


class WireRepresentative(_Wire):
    full_name: WireText = Field(None, alias="FULL_NAME")
    personal_id: WireText = Field(None, alias="PERSONAL_ID")
    position: WireText = Field(None, alias="POSITION")
    birth_date: WireDate = Field(None, alias="BIRTH_DATE")
    gender: WireText = Field(None, alias="GENDER")


class DetailAnswer(_Wire):
    """`GET chiTietDoanhNghiep`: the envelope and, when Status is "1", the enterprise."""

    status: str = Field(alias="Status")
    message: WireText = Field(None, alias="Message")
    data_count: int | None = Field(None, alias="DataCount")
    error_code: WireText = Field(None, alias="ErrorCode")
    main: MainInformation | None = Field(None, alias="MainInformation")
    address: HOAddress | None = Field(None, alias="HOAdress")
    activities: list[Activity] | None = Field(None, alias="BusinessActivity")
    members: list[WireMember] | None = Field(None, alias="Member")
    representatives: list[WireRepresentative] | None = Field(None, alias="Representatives")


class TokenAnswer(_Wire):
    access_token: Annotated[str, Field(min_length=1)]
    token_type: str = "Bearer"  # noqa: S105 (the OAuth2 token type, not a secret)
    expires_in: Annotated[int, Field(gt=0)]


def parse_detail(raw: bytes) -> DetailAnswer:
    return _parse(DetailAnswer, raw, "enterprise answer")


def parse_token(raw: bytes) -> TokenAnswer:
    return _parse(TokenAnswer, raw, "token answer")


def _parse(model: type[M], raw: bytes, what: str) -> M:
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        # Which rule failed, never the value: the answer holds personal data.
        first = exc.errors(include_input=False, include_url=False)[0]
        where = ".".join(str(p) for p in first["loc"])
        raise CentralProtocolError(
            f"unusable {what} from the business registry ({first['type']} at {where or 'body'})"
        ) from exc


def _key(value: str | None) -> str:
    return (value or "").casefold()


def enterprise(answer: DetailAnswer) -> Enterprise:
    """A Status "1" answer → the local enterprise record."""
    main = answer.main
    if main is None or main.tax_code is None:
        raise CentralProtocolError("the business registry's answer has no MainInformation")
    office = answer.address
    return Enterprise(
        enterprise_id=main.enterprise_id,
        tax_code=main.tax_code,
        type=TYPES.get(_key(main.type_name), EnterpriseType.UNKNOWN),
        type_name=main.type_name,
        names=EnterpriseNames(vi=main.name, short=main.short_name, foreign=main.foreign_name),
        founding_date=main.founding_date,
        last_amendment_date=main.last_amend_date,
        number_of_changes=main.number_changes,
        status=STATUSES.get(_key(main.status_name), EnterpriseStatus.UNKNOWN),
        status_name=main.status_name,
        capital_amount=main.capital_amount,
        head_office=None
        if office is None
        else HeadOffice(
            province_code=office.city_id,
            province_name=office.city_name,
            district_code=office.district_id,
            district_name=office.district_name,
            ward_code=office.ward_id,
            ward_name=office.ward_name,
            street=office.street_number,
            full_text=office.full_text,
        ),
        activities=[
            BusinessActivity(vsic_code=a.code, name=a.name, is_main=a.is_main)
            for a in answer.activities or []
        ],
        members=[
            Member(
                full_name=m.full_name,
                personal_id=m.personal_id,
                capital_amount=m.capital_amount,
                capital_percent=m.capital_percent,
            )
            for m in answer.members or []
        ],
        representatives=[
            Representative(
                full_name=r.full_name,
                personal_id=r.personal_id,
                position=r.position,
                date_of_birth=r.birth_date,
                sex=SEXES.get(_key(r.gender)),
            )
            for r in answer.representatives or []
        ],
    )


def query(tax_code: str) -> dict[str, str]:
    """The `chiTietDoanhNghiep` query string for a validated tax code."""
    return {"msdn": tax_code}
