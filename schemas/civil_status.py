"""Civil status: the local-facing contract of the national electronic civil-status database.

One operation: a birth registration looked up by its certificate number (số,
as `<number>/<year>`), the registered child's full name and date of birth; the
answer is the child, the parents (a field group: `parents`), and where, when
and by whom the birth was registered. The ministry's own field names live in
adapters/civil_status/wire.py.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field

from schemas.base import LocalModel
from schemas.identifiers import Text

FullName = Annotated[Text, Field(min_length=2, max_length=100)]
#: A birth certificate's number in its register: `<number>/<year of registration>`.
CertificateNumber = Annotated[str, Field(pattern=r"^[0-9]{1,6}/[0-9]{4}$")]


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"


class Place(LocalModel):
    detail: str | None
    province_code: str | None
    district_code: str | None
    ward_code: str | None


class Child(LocalModel):
    personal_id: str | None
    full_name: str
    family_name: str | None
    middle_name: str | None
    given_name: str | None
    date_of_birth: date
    sex: Sex | None
    ethnicity: str | None = None  # the `sensitive` field group
    nationality: str | None
    hometown: Place | None


class Parent(LocalModel):
    full_name: str
    birth_year: int | None
    personal_id: str | None
    ethnicity: str | None
    nationality: str | None


class BirthRegistration(LocalModel):
    certificate_number: str
    book_number: str
    registered_on: date
    registration_authority: str
    registration_place: Place
    child: Child
    # The `parents` field group: absent for a client without it.
    father: Parent | None = None
    mother: Parent | None = None


class BirthRegistrationLookupRequest(LocalModel):
    certificate_number: CertificateNumber
    child_full_name: FullName
    child_date_of_birth: date


class BirthRegistrationLookupResponse(LocalModel):
    registration: BirthRegistration
