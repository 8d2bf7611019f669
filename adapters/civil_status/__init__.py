"""The civil-status adapter: the national electronic civil-status database (REST, HMAC-signed).

Operations:
- `birth-registration-lookup`: a birth registration by its certificate number
  (`<number>/<year>`), the child's full name and date of birth; answers the
  child, the parents (the `parents` field group) and where, when and by whom
  the birth was registered. A certificate whose holder is not named correctly
  is "not found", as one that does not exist.

Made with `lgsp new adapter civil-status`: it uses only `adapters.sdk`, brings
its mock (`mocks/civil_status.py`, the `lgsp.mocks` entry point), its default
base URL and demo credentials, and its tests subclass `adapters.testing.AdapterContract`.
"""

from __future__ import annotations

import secrets

from pydantic import ValidationError

from adapters.civil_status import wire
from adapters.civil_status.client import LOOKUP_PATH, CivilStatusClient
from adapters.sdk import Adapter, CentralProtocolError, Context, RetrySettings
from schemas.civil_status import BirthRegistrationLookupRequest, BirthRegistrationLookupResponse


def _demo_credentials() -> dict[str, str]:
    """A key id naming the calling system and the shared secret requests are signed with."""
    return {"key_id": "LGSP-HP-" + secrets.token_hex(4), "secret": secrets.token_urlsafe(32)}


adapter: Adapter[CivilStatusClient] = Adapter(
    "civil-status",
    title="National electronic civil-status database",
    connect=CivilStatusClient,
    base_url="http://127.0.0.1:8704",
    demo_credentials=_demo_credentials,
    # A ministry register behind a signed API: brief failures, a few retries, quick to give up.
    retry=RetrySettings(attempts=5, initial_backoff=0.05, max_backoff=1.0, attempt_timeout=3.0),
)


@adapter.operation(
    "birth-registration-lookup",
    personal_data=True,
    subject="certificate_number",
    field_groups={
        "parents": ("registration.father", "registration.mother"),
        "sensitive": ("registration.child.ethnicity",),
    },
    # Synthetic values only (the contract is public): `lgsp dev`'s banner shows a call that
    # matches a registration of the data set (gateway/cli/examples.py).
    example={
        "certificate_number": "1234/2020",
        "child_full_name": "Nguyễn Văn Mẫu",
        "child_date_of_birth": "2020-01-15",
    },
)
async def birth_registration_lookup(
    req: BirthRegistrationLookupRequest, ctx: Context[CivilStatusClient]
) -> BirthRegistrationLookupResponse:
    """Look a birth registration up by certificate number, the child's name and birth date."""
    payload = wire.request(req.certificate_number, req.child_full_name, req.child_date_of_birth)
    data = await ctx.client.post(LOOKUP_PATH, payload)
    try:
        return BirthRegistrationLookupResponse(registration=wire.registration(data))
    except ValidationError as exc:
        raise CentralProtocolError("the register's birth registration does not fit") from exc
