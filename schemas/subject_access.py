"""Subject access: a citizen's view of who accessed their data (the `audit` adapter).

`POST /v1/audit/subject-access` with a personal id answers every recorded
access to that person's data in a period, newest first, a page at a time:
when, which agency, which officer, under which procedure and case, which
operation, its outcome, and which field groups of the answer were disclosed.
"""

from __future__ import annotations

from datetime import date, datetime

from pydantic import Field, model_validator

from schemas.base import LocalModel
from schemas.business import TaxCodeInput
from schemas.identifiers import PersonalId, SocialInsuranceCode

MAX_PAGE = 100


class SubjectAccessRequest(LocalModel):
    personal_id: PersonalId
    # The same person's other identifiers, as the portal verified them (the social-insurance
    # code on their record, the tax codes of their own household businesses): accesses keyed
    # by them belong to the trail too. The portal vouches for them as it does for the id.
    social_insurance_code: SocialInsuranceCode | None = None
    tax_codes: list[TaxCodeInput] = Field(default_factory=list, max_length=10)
    # The period, inclusive dates (Vietnam's calendar day is close enough to UTC's here:
    # both ends are compared with the records' UTC times).
    since: date | None = None
    until: date | None = None
    # `next_cursor` of the page before; absent for the first (newest) page.
    cursor: str | None = Field(default=None, pattern=r"^[0-9]{1,18}$")
    limit: int = Field(default=20, ge=1, le=MAX_PAGE)
    # An answer's `LGSP-Audit-Receipt`: just that access (when it concerned this person).
    receipt: str | None = Field(default=None, pattern=r"^[A-Za-z0-9._:-]{8,128}$")

    @model_validator(mode="after")
    def _period_in_order(self) -> SubjectAccessRequest:
        if self.since is not None and self.until is not None and self.since > self.until:
            raise ValueError("since is after until")
        return self


class Access(LocalModel):
    time: datetime
    identifier: str  # which of the request's identifiers it was about: personal_id, ...
    agency: str  # the client's registered name (its id when it has none)
    officer_id: str | None
    procedure_code: str | None
    procedure_name: str | None  # from the procedure catalogue; None for an unknown code
    case_id: str | None
    operation: str
    status: int  # the answer's HTTP status: 200 disclosed, 404 not found, ...
    disclosed: list[str]  # field groups of the answer the agency was given; [] when none
    receipt: str  # the audit record's id, the `LGSP-Audit-Receipt` of that answer


class SubjectAccessResponse(LocalModel):
    accesses: list[Access]
    next_cursor: str | None  # the next (older) page; None on the last page
    # The live trail starts here; older accesses are in the archives (ask the operator).
    live_since: datetime | None
    archived: bool  # some of the trail has been moved to archives
