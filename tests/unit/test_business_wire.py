"""The business adapter's wire: recorded registry answers → the local model, and the requests
we build (checked against the wire contract and accepted by the real mock)."""

from __future__ import annotations

import asyncio
import base64
import unicodedata
from collections.abc import AsyncIterator
from datetime import date
from typing import Any

import orjson
import pytest
from pydantic import TypeAdapter, ValidationError

from adapters.business import adapter, enterprise_lookup, wire
from adapters.business.client import DETAIL_PATH, TOKEN_PATH, BusinessClient
from adapters.central import CentralSession
from adapters.errors import (
    CentralProtocolError,
    CentralRejected,
    RecordNotFound,
    TransientError,
)
from mocks.data import Dataset, ensure_dataset
from mocks.settings import MockSettings
from schemas.business import (
    EnterpriseLookupRequest,
    EnterpriseStatus,
    EnterpriseType,
    Sex,
    TaxCodeInput,
)
from schemas.config import AdapterSettings
from tests.fixtures.fakes import ScriptedSession, answer, context, recorded
from tests.support.stack import running_mocks

CREDENTIALS = {"client_id": "lgsp-hp-test", "client_secret": "s3cret"}
SETTINGS = AdapterSettings.model_validate({"credentials": CREDENTIALS})
TOKEN = answer(200, recorded("business", "token.json"))
FOUND = answer(200, recorded("business", "enterprise_found.json"))
INVALID_TOKEN = answer(401, recorded("business", "fault_invalid_credentials.json"))


def token_answer(token: str, expires_in: int = 3600) -> Any:
    body = {"access_token": token, "token_type": "Bearer", "expires_in": expires_in}
    return answer(200, orjson.dumps(body))


def client_with(*script: Any, clock: Any = None) -> tuple[BusinessClient, ScriptedSession]:
    session = ScriptedSession(list(script))
    if clock is None:
        return BusinessClient(session, SETTINGS), session
    return BusinessClient(session, SETTINGS, clock=clock), session


# -- answers → local model -----------------------------------------------------------------


def test_found_answer_maps_to_the_local_enterprise() -> None:
    e = wire.enterprise(wire.parse_detail(recorded("business", "enterprise_found.json")))
    assert e.tax_code == "0223567699"
    assert e.enterprise_id == "1000001"
    assert e.type is EnterpriseType.JOINT_STOCK
    assert e.status is EnterpriseStatus.ACTIVE
    assert e.status_name == "Đang hoạt động"
    assert e.names.vi == "CÔNG TY CỔ PHẦN MAY MẶC PHÚ THỊNH KIM LONG"
    assert e.names.short == "PHU THINH KIM LONG JSC"
    assert e.founding_date == date(2018, 10, 21)
    assert e.last_amendment_date is None  # the registry's "" when nothing changed
    assert e.number_of_changes == 0
    assert e.capital_amount == 10_000_000_000
    assert e.head_office is not None
    assert (e.head_office.province_code, e.head_office.district_code) == ("31", "308")
    assert e.head_office.ward_code == "11491"
    assert e.head_office.street == "Số 246 Lý Thánh Tông"
    assert [(a.vsic_code, a.is_main) for a in e.activities] == [("1520", True), ("2220", False)]
    assert [m.capital_percent for m in e.members] == [23.08, 76.92]
    rep = e.representatives[0]
    assert rep.personal_id == "031174559470"
    assert rep.date_of_birth == date(1974, 4, 1)
    assert rep.sex is Sex.FEMALE
    assert rep.position == "Tổng giám đốc"


def test_local_json_is_iso_dated_with_explicit_nulls() -> None:
    e = wire.enterprise(wire.parse_detail(recorded("business", "enterprise_found.json")))
    document = orjson.loads(e.model_dump_json())
    assert document["founding_date"] == "2018-10-21"
    assert "last_amendment_date" in document
    assert document["last_amendment_date"] is None
    assert document["representatives"][0]["date_of_birth"] == "1974-04-01"
    assert document["status"] == "active"


def test_dependent_unit_and_dissolved_enterprise() -> None:
    branch = wire.enterprise(wire.parse_detail(recorded("business", "enterprise_branch.json")))
    assert branch.type is EnterpriseType.BRANCH
    assert branch.tax_code.endswith("-001")
    assert branch.members == []
    assert branch.capital_amount == 0
    gone = wire.enterprise(wire.parse_detail(recorded("business", "enterprise_dissolved.json")))
    assert gone.status is EnterpriseStatus.DISSOLVED
    assert gone.last_amendment_date is not None
    assert gone.number_of_changes is not None
    assert gone.number_of_changes > 0


def test_unknown_status_and_type_become_unknown() -> None:
    raw = orjson.loads(recorded("business", "enterprise_found.json"))
    raw["MainInformation"]["ENTERPRISE_STATUS_NAME"] = "Trạng thái mới"
    raw["MainInformation"]["ENTERPRISE_TYPE_NAME"] = "Hợp tác xã"
    e = wire.enterprise(wire.parse_detail(orjson.dumps(raw)))
    assert e.status is EnterpriseStatus.UNKNOWN
    assert e.type is EnterpriseType.UNKNOWN


def test_vietnamese_text_is_normalised_to_nfc() -> None:
    raw = orjson.loads(recorded("business", "enterprise_found.json"))
    raw["MainInformation"]["NAME"] = unicodedata.normalize("NFD", raw["MainInformation"]["NAME"])
    raw["MainInformation"]["ENTERPRISE_STATUS_NAME"] = unicodedata.normalize("NFD", "Đã giải thể")
    e = wire.enterprise(wire.parse_detail(orjson.dumps(raw)))
    assert e.names.vi == "CÔNG TY CỔ PHẦN MAY MẶC PHÚ THỊNH KIM LONG"
    assert e.names.vi is not None
    assert unicodedata.is_normalized("NFC", e.names.vi)
    assert e.status is EnterpriseStatus.DISSOLVED


@pytest.mark.parametrize(
    "body",
    [
        recorded("business", "enterprise_found.json")[:300],  # truncated
        b"<html>gateway error</html>",
        b'{"Status": "1", "MainInformation": {"FOUNDING_DATE": "2018-10-21"}}',
        b"[]",
    ],
)
def test_unusable_answers_are_protocol_errors_without_values(body: bytes) -> None:
    with pytest.raises(CentralProtocolError) as info:
        wire.enterprise(wire.parse_detail(body))
    assert "2018" not in info.value.detail
    assert "0223567699" not in info.value.detail


def test_token_answer_parses() -> None:
    token = wire.parse_token(recorded("business", "token.json"))
    assert token.expires_in == 3600
    assert token.token_type == "Bearer"


# -- the client: outcomes, the token's life ------------------------------------------------


async def test_request_matches_the_wire_contract() -> None:
    client, session = client_with(TOKEN, FOUND)
    await client.enterprise("0223567699")
    token_call, detail_call = session.sent
    assert (token_call.method, token_call.path) == ("POST", TOKEN_PATH)
    assert token_call.data == {"grant_type": "client_credentials"}
    scheme, _, encoded = token_call.headers["Authorization"].partition(" ")
    assert scheme == "Basic"
    assert base64.b64decode(encoded).decode() == "lgsp-hp-test:s3cret"
    assert (detail_call.method, detail_call.path) == ("GET", DETAIL_PATH)
    assert detail_call.params == {"msdn": "0223567699"}
    assert detail_call.headers["Authorization"] == "Bearer captured"


async def test_not_found_is_record_not_found_and_invalid_is_rejected() -> None:
    client, _ = client_with(
        TOKEN,
        answer(200, recorded("business", "not_found.json")),
        answer(400, recorded("business", "invalid.json")),
    )
    with pytest.raises(RecordNotFound):
        await client.enterprise("0100000109")
    with pytest.raises(CentralRejected):
        await client.enterprise("0100000108")


async def test_infrastructure_failures_are_transient() -> None:
    client, _ = client_with(TOKEN, answer(503, b"Injected fault"), answer(429, b""))
    for _ in range(2):
        with pytest.raises(TransientError):
            await client.enterprise("0223567699")


async def test_token_is_cached_between_calls() -> None:
    client, session = client_with(TOKEN, FOUND, FOUND)
    await client.enterprise("0223567699")
    await client.enterprise("0223567699")
    assert [s.path for s in session.sent] == [TOKEN_PATH, DETAIL_PATH, DETAIL_PATH]


async def test_token_is_refreshed_at_80_percent_of_its_life() -> None:
    now = [1000.0]
    client, _ = client_with(
        token_answer("first", 100), token_answer("second", 100), clock=lambda: now[0]
    )
    assert await client.token() == "first"
    now[0] += 79
    assert await client.token() == "first"
    now[0] += 2
    assert await client.token() == "second"
    assert client.token_fetches == 2


async def test_a_401_refreshes_once_and_retries_within_the_attempt() -> None:
    client, session = client_with(token_answer("old"), INVALID_TOKEN, token_answer("new"), FOUND)
    answer_ = await client.enterprise("0223567699")
    assert answer_.status == "1"
    auth = [s.headers["Authorization"] for s in session.sent if s.path == DETAIL_PATH]
    assert auth == ["Bearer old", "Bearer new"]


async def test_a_second_401_is_not_retried_again() -> None:
    client, session = client_with(
        token_answer("a"), INVALID_TOKEN, token_answer("b"), INVALID_TOKEN
    )
    with pytest.raises(CentralProtocolError):
        await client.enterprise("0223567699")
    assert len(session.sent) == 4


async def test_refused_client_credentials_are_permanent() -> None:
    refused = answer(401, b'{"error": "invalid_client"}')
    client, _ = client_with(refused)
    with pytest.raises(CentralProtocolError):
        await client.enterprise("0223567699")


async def test_concurrent_callers_share_one_token_fetch() -> None:
    release = asyncio.Event()

    class SlowTokenSession(ScriptedSession):
        async def request(self, method: str, path: str, **kwargs: Any) -> Any:
            if path == TOKEN_PATH:
                await release.wait()
            return await super().request(method, path, **kwargs)

    session = SlowTokenSession([TOKEN, *[FOUND] * 5])
    client = BusinessClient(session, SETTINGS)
    calls = [asyncio.create_task(client.enterprise("0223567699")) for _ in range(5)]
    await asyncio.sleep(0)  # let every caller reach the lock
    release.set()
    await asyncio.gather(*calls)
    assert client.token_fetches == 1


# -- the request model ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [("0223567699", "0223567699"), ("0201131210-001", "0201131210-001"),
     ("0201131210001", "0201131210-001"), (" 0223567699 ", "0223567699")],
)  # fmt: skip
def test_tax_code_forms_are_accepted(given: str, expected: str) -> None:
    assert TypeAdapter(TaxCodeInput).validate_python(given) == expected


@pytest.mark.parametrize("given", ["0223567698", "022356769", "0223567699-000", "02235676991"])
def test_bad_tax_codes_are_refused_naming_the_field(given: str) -> None:
    with pytest.raises(ValidationError) as info:
        EnterpriseLookupRequest.model_validate({"tax_code": given})
    assert info.value.errors()[0]["loc"] == ("tax_code",)


# -- against the real mock -----------------------------------------------------------------


@pytest.fixture
async def business_mock(
    mock_settings: MockSettings, generated: dict[str, Any]
) -> AsyncIterator[BusinessClient]:
    async with running_mocks(mock_settings, ["business"]) as urls:
        settings = AdapterSettings.model_validate(
            {
                "base_url": urls["business"],
                "credentials": generated["adapters"]["business"]["credentials"],
            }
        )
        session = CentralSession(settings)
        try:
            yield BusinessClient(session, settings)
        finally:
            await session.aclose()


async def test_the_mock_accepts_our_request(
    business_mock: BusinessClient, mock_settings: MockSettings
) -> None:
    with Dataset(ensure_dataset(mock_settings)) as data:
        msdn = data.examples()["business"]["msdn"]
    request = EnterpriseLookupRequest(tax_code=msdn)
    response = await enterprise_lookup(request, context(business_mock))
    assert response.enterprise.tax_code == msdn
    assert response.enterprise.representatives


def test_retry_policy_is_declared_and_configuration_overrides_it() -> None:
    declared = adapter.retry_policy(AdapterSettings())
    assert declared == adapter.retry
    assert declared.attempts > 1
    configured = AdapterSettings.model_validate({"retry": {"attempts": 2}})
    assert adapter.retry_policy(configured).attempts == 2
