"""Business registration: the local-facing contract of the national business registry.

snake_case English, ISO 8601 dates, enums, explicit nulls. The registry's own
field names (`ENTERPRISE_GDT_CODE`, `HOAdress`, dd/MM/yyyy dates ...) live in
adapters/business/wire.py, next to the code that maps them.
"""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import BeforeValidator, Field

from schemas.base import LocalModel
from schemas.identifiers import TaxCode

_THIRTEEN_DIGITS = re.compile(r"\d{13}")


def _hyphenate(value: object) -> object:
    """A dependent unit's code written without its hyphen (13 digits) is the same code."""
    if isinstance(value, str):
        value = value.strip()
        if _THIRTEEN_DIGITS.fullmatch(value):
            return f"{value[:10]}-{value[10:]}"
    return value


# 10 digits, or NNNNNNNNNN-NNN (also accepted as 13 digits), with a valid check digit.
TaxCodeInput = Annotated[TaxCode, BeforeValidator(_hyphenate)]


class EnterpriseStatus(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    NOT_AT_REGISTERED_ADDRESS = "not_at_registered_address"
    DISSOLVING = "dissolving"
    DISSOLVED = "dissolved"
    UNKNOWN = "unknown"


class EnterpriseType(StrEnum):
    SINGLE_MEMBER_LLC = "single_member_llc"
    MULTI_MEMBER_LLC = "multi_member_llc"
    JOINT_STOCK = "joint_stock"
    PRIVATE = "private"
    PARTNERSHIP = "partnership"
    BRANCH = "branch"
    UNKNOWN = "unknown"


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class EnterpriseLookupRequest(LocalModel):
    tax_code: TaxCodeInput


class EnterpriseNames(LocalModel):
    vi: str | None
    short: str | None
    foreign: str | None


class HeadOffice(LocalModel):
    province_code: str | None
    province_name: str | None
    district_code: str | None
    district_name: str | None
    ward_code: str | None
    ward_name: str | None
    street: str | None
    full_text: str | None


class BusinessActivity(LocalModel):
    vsic_code: str
    name: str | None
    is_main: bool


class Member(LocalModel):
    full_name: str | None
    personal_id: str | None
    capital_amount: int | None
    capital_percent: float | None


class Representative(LocalModel):
    full_name: str | None
    personal_id: str | None
    position: str | None
    date_of_birth: date | None
    sex: Sex | None


class Enterprise(LocalModel):
    enterprise_id: str | None
    tax_code: str
    type: EnterpriseType
    # The registry's own wording, for display; `type` is what programs should use.
    type_name: str | None
    names: EnterpriseNames
    founding_date: date | None
    last_amendment_date: date | None
    number_of_changes: int | None
    status: EnterpriseStatus
    status_name: str | None
    capital_amount: int | None
    head_office: HeadOffice | None
    activities: list[BusinessActivity]
    # Field groups `members` and `representatives`: absent when withheld.
    members: list[Member] = Field(default_factory=list)
    representatives: list[Representative] = Field(default_factory=list)


class EnterpriseLookupResponse(LocalModel):
    enterprise: Enterprise
