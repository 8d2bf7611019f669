"""Population: the local-facing contract of the national population database.

snake_case English, ISO 8601 dates, enums, explicit nulls. The ministry's own
field names live in adapters/population/wire.py, next to the code that maps them.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from schemas.base import LocalModel
from schemas.identifiers import PersonalId, Text, personal_id_matches_birth

FullName = Annotated[Text, Field(min_length=2, max_length=100)]


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class BloodGroup(StrEnum):
    UNKNOWN = "unknown"
    A = "A"
    B = "B"
    AB = "AB"
    O = "O"  # noqa: E741 (the blood group's name)


class MaritalStatus(StrEnum):
    SINGLE = "single"
    MARRIED = "married"
    DIVORCED_OR_WIDOWED = "divorced_or_widowed"
    UNKNOWN = "unknown"


class Address(LocalModel):
    detail: str | None
    province_code: str | None
    district_code: str | None
    ward_code: str | None
    country: str | None


class Relative(LocalModel):
    full_name: str | None
    personal_id: str | None


class Citizen(LocalModel):
    # Fields of a field group have defaults: a client denied the group gets an answer
    # without them that still validates against this model (gateway/security/rights.py).
    personal_id: str
    legacy_id_number: str | None
    full_name: str
    family_name: str | None
    middle_name: str | None
    given_name: str | None
    date_of_birth: date | None
    birth_year: int | None
    sex: Sex | None
    nationality: str | None
    ethnicity: str | None = None
    religion: str | None = None
    blood_group: BloodGroup | None = None
    marital_status: MaritalStatus | None
    hometown: Address | None = None
    birth_registration_place: Address | None = None
    permanent_address: Address | None = None
    current_address: Address | None = None
    father: Relative | None = None
    mother: Relative | None = None
    spouse: Relative | None = None
    household_head: Relative | None = None


class CitizenVerifyRequest(LocalModel):
    # date_of_birth is validated first so that personal_id's check can use it.
    date_of_birth: date
    full_name: FullName
    personal_id: PersonalId

    @field_validator("personal_id")
    @classmethod
    def _id_agrees_with_birth(cls, value: str, info: ValidationInfo) -> str:
        born = info.data.get("date_of_birth")
        if born is not None and not personal_id_matches_birth(value, born):
            raise ValueError("the century digit and birth year digits disagree with date_of_birth")
        return value


# "personal_id": no citizen has the ID (told only to clients granted `mismatch-detail`).
MismatchedField = Literal["personal_id", "full_name", "date_of_birth"]


class CitizenVerifyResponse(LocalModel):
    matched: bool
    # Field group `mismatch-detail`: absent unless the client is granted it, so that an
    # unknown ID and a wrong name or date of birth answer alike (docs/security.md).
    mismatched_fields: list[MismatchedField] = Field(default_factory=list)
    citizen: Citizen | None


class ResidenceAddress(LocalModel):
    detail: Annotated[Text, Field(min_length=3, max_length=300)]
    province_code: Annotated[str, Field(pattern=r"^\d{2}$")]
    district_code: Annotated[str, Field(pattern=r"^\d{3}$")]
    ward_code: Annotated[str, Field(pattern=r"^\d{5}$")]


class ResidenceDeclarationRequest(LocalModel):
    personal_id: PersonalId
    full_name: FullName
    address: ResidenceAddress
    from_date: date
    to_date: date
    reason: Annotated[Text, Field(max_length=300)] | None = None

    @model_validator(mode="after")
    def _dates_in_order(self) -> ResidenceDeclarationRequest:
        if self.to_date <= self.from_date:
            raise ValueError("to_date must be after from_date")
        return self


class ResidenceDeclarationResponse(LocalModel):
    declaration_id: str
    status: Literal["registered"]
    registered_at: datetime
