"""Social insurance: the local-facing contract of the social-insurance database.

snake_case English, ISO 8601 dates, enums, explicit nulls. The ministry's own
camelCase fields and yyyyMMdd dates live in adapters/insurance/wire.py.

Dates of birth. The database often records only a year, or a year and month,
for older people (`loaiNgaySinh` 1 or 2). We never invent a day: a person
carries `birth_date_precision` ("day", "month" or "year"), `birth_year` and
`birth_month` (null when only the year is known), and `date_of_birth` (an ISO
date, null unless the full date is recorded). Months are ISO 8601 `YYYY-MM`.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from schemas.base import LocalModel
from schemas.identifiers import HealthCardCode, SocialInsuranceCode, Text

# The longest contribution history one call may ask for.
MAX_HISTORY_MONTHS = 120

YearMonth = Annotated[str, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", examples=["2025-01"])]
FullName = Annotated[Text, Field(min_length=2, max_length=100)]
BirthDatePrecision = Literal["day", "month", "year"]
InvalidReason = Literal["expired", "not_yet_valid", "unknown"]


class Sex(StrEnum):
    MALE = "male"
    FEMALE = "female"
    OTHER = "other"


class ParticipationStatus(StrEnum):
    PARTICIPATING = "participating"
    PAUSED = "paused"
    STOPPED = "stopped"
    UNKNOWN = "unknown"


class ContributionKind(StrEnum):
    COMPULSORY = "compulsory"
    VOLUNTARY = "voluntary"
    UNKNOWN = "unknown"


class PlaceCodes(LocalModel):
    province_code: str | None
    district_code: str | None
    ward_code: str | None


class Person(LocalModel):
    """The identity fields every social-insurance answer shares."""

    social_insurance_code: str
    full_name: str | None
    # Defaults: `code-search` withholds these unless the client is granted its `identity`
    # group (a search by name and birth year must not hand out full birth dates and IDs).
    date_of_birth: date | None = None
    birth_year: int | None
    birth_month: int | None = None
    birth_date_precision: BirthDatePrecision | None
    sex: Sex | None
    personal_id: str | None = None
    # Where the birth was registered (statistics-office codes).
    birth_registration_place: PlaceCodes | None = None


class HouseholdMember(Person):
    relation_to_head: str | None


class Participant(Person):
    status: ParticipationStatus
    status_name: str | None
    household_id: str | None
    relation_to_head: str | None
    household_members: list[HouseholdMember] = Field(default_factory=list)  # group `household`


class ParticipantLookupRequest(LocalModel):
    social_insurance_code: SocialInsuranceCode


class ParticipantLookupResponse(LocalModel):
    participant: Participant


class ContributionHistoryRequest(LocalModel):
    social_insurance_code: SocialInsuranceCode
    from_month: YearMonth
    to_month: YearMonth

    @model_validator(mode="after")
    def _range(self) -> ContributionHistoryRequest:
        if self.to_month < self.from_month:
            raise ValueError("to_month must not precede from_month")
        if months_between(self.from_month, self.to_month) > MAX_HISTORY_MONTHS:
            raise ValueError(f"at most {MAX_HISTORY_MONTHS} months per request")
        return self


def months_between(first: str, last: str) -> int:
    """How many months `first`..`last` (YYYY-MM, inclusive) span."""
    y1, m1 = (int(p) for p in first.split("-"))
    y2, m2 = (int(p) for p in last.split("-"))
    return (y2 * 12 + m2) - (y1 * 12 + m1) + 1


class Contribution(LocalModel):
    month: str
    employer_code: str | None  # the employer's tax code; null for voluntary contributions
    employer_name: str | None
    salary: int | None  # the monthly salary (or declared income) contributions are based on, VND
    amount: int | None  # VND
    kind: ContributionKind


class ContributionHistoryResponse(LocalModel):
    social_insurance_code: str
    full_name: str | None
    from_month: str
    to_month: str
    months_with_contributions: int
    contributions: list[Contribution]


class HealthCardVerifyRequest(LocalModel):
    card_code: HealthCardCode
    # The day the card must be valid on; the database's "today" (Vietnam time) when null.
    check_date: date | None = None
    # Optional: when given, they must match the card, or the request is refused (422).
    full_name: FullName | None = None
    date_of_birth: date | None = None


class HealthCardVerifyResponse(LocalModel):
    card_code: str
    valid: bool
    invalid_reason: InvalidReason | None
    check_date: date
    valid_from: date | None
    valid_to: date | None
    benefit_level: int | None  # the card's level digit, 1 to 5
    benefit_percent: int | None  # share of costs covered
    clinic_code: str | None  # registered primary-care facility
    clinic_name: str | None
    holder: Person


class CodeSearchRequest(LocalModel):
    full_name: FullName
    # YYYY, YYYY-MM or YYYY-MM-DD: as much of the date of birth as is known.
    date_of_birth: Annotated[str, Field(pattern=r"^\d{4}(-(0[1-9]|1[0-2])(-\d{2})?)?$")]
    sex: Sex | None = None
    province_code: Annotated[str, Field(pattern=r"^\d{2}$")] | None = None
    district_code: Annotated[str, Field(pattern=r"^\d{3}$")] | None = None
    ward_code: Annotated[str, Field(pattern=r"^\d{5}$")] | None = None

    @model_validator(mode="after")
    def _real_date(self) -> CodeSearchRequest:
        if len(self.date_of_birth) == 10:
            date.fromisoformat(self.date_of_birth)  # ValueError: not a calendar date
        return self


class CodeSearchResponse(LocalModel):
    matches: list[Person]
