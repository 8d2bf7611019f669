"""The business registration mock: OAuth2 tokens and enterprise details."""

from __future__ import annotations

import base64

import pytest

from mocks.business import TokenStore
from mocks.data import Dataset
from mocks.identifiers import tax_check_digit
from tests.mocks.support import DETAIL, MockServer


async def test_client_credentials_in_the_form_get_a_bearer_token(business: MockServer) -> None:
    form = {
        "grant_type": "client_credentials",
        "client_id": business.settings.business_client_id,
        "client_secret": business.settings.business_client_secret.get_secret_value(),
    }
    async with business.http.post(f"{business.url}/token", data=form) as response:
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        body = await response.json()
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == business.settings.business_token_ttl
    assert body["scope"] == "am_application_scope default"
    assert len(body["access_token"]) >= 32


async def test_client_credentials_by_http_basic_get_a_token(business: MockServer) -> None:
    s = business.settings
    pair = f"{s.business_client_id}:{s.business_client_secret.get_secret_value()}"
    headers = {"Authorization": "Basic " + base64.b64encode(pair.encode()).decode()}
    async with business.http.post(
        f"{business.url}/token", data={"grant_type": "client_credentials"}, headers=headers
    ) as response:
        assert response.status == 200


@pytest.mark.parametrize(
    ("form", "status", "error"),
    [
        ({"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}, 401,
         "invalid_client"),
        ({"grant_type": "client_credentials"}, 401, "invalid_client"),
        ({}, 400, "invalid_request"),
    ],
)  # fmt: skip
async def test_token_requests_are_refused_per_rfc_6749(
    business: MockServer, form: dict[str, str], status: int, error: str
) -> None:
    async with business.http.post(f"{business.url}/token", data=form) as response:
        assert response.status == status
        assert (await response.json())["error"] == error


async def test_only_the_client_credentials_grant_is_supported(business: MockServer) -> None:
    form = {
        "grant_type": "password",
        "client_id": business.settings.business_client_id,
        "client_secret": business.settings.business_client_secret.get_secret_value(),
    }
    async with business.http.post(f"{business.url}/token", data=form) as response:
        assert response.status == 400
        assert (await response.json())["error"] == "unsupported_grant_type"


async def test_enterprise_details_come_in_the_registry_envelope(
    business: MockServer, data: Dataset
) -> None:
    enterprise = data.enterprise(0)
    status, body = await business.enterprise(enterprise.msdn, await business.token())
    assert status == 200
    assert (body["Status"], body["DataCount"]) == ("1", 1)
    main = body["MainInformation"]
    assert main["ENTERPRISE_GDT_CODE"] == enterprise.msdn
    assert main["NAME"] == enterprise.name
    assert main["ENTERPRISE_STATUS_NAME"] == enterprise.status_name
    assert len(main["FOUNDING_DATE"]) == 10
    assert main["FOUNDING_DATE"][2] == main["FOUNDING_DATE"][5] == "/"
    address = body["HOAdress"]
    assert address["CityID"] == "31"
    assert address["AddressFullText"].endswith("Thành phố Hải Phòng, Việt Nam")
    assert [a["IS_MAIN"] for a in body["BusinessActivity"]].count(True) == 1
    for person in body["Representatives"]:
        citizen = data.citizen_by_id(person["PERSONAL_ID"])
        assert citizen is not None
        assert citizen.ho_va_ten == person["FULL_NAME"]


async def test_a_branch_is_found_with_or_without_the_hyphen(
    business: MockServer, data: Dataset
) -> None:
    branch = next(
        e for n in range(data.counts()["enterprises"]) if "-" in (e := data.enterprise(n)).msdn
    )
    token = await business.token()
    for msdn in (branch.msdn, branch.msdn.replace("-", "")):
        status, body = await business.enterprise(msdn, token)
        assert status == 200
        assert body["MainInformation"]["ENTERPRISE_TYPE_NAME"] == "Chi nhánh"
        assert body["Member"] == []


async def test_an_unknown_enterprise_is_status_zero_with_http_200(business: MockServer) -> None:
    nine = next(f"01{n:07d}" for n in range(100) if tax_check_digit(f"01{n:07d}") is not None)
    unknown = f"{nine}{tax_check_digit(nine)}"
    status, body = await business.enterprise(unknown, await business.token())
    assert status == 200
    assert body == {
        "Status": "0",
        "Message": "Không tìm thấy thông tin doanh nghiệp",
        "DataCount": 0,
        "ErrorCode": "NOT_FOUND",
    }


@pytest.mark.parametrize("msdn", ["", "123", "020000000x", "0200000000-000", "wrong check digit"])
async def test_a_malformed_tax_code_is_a_400(
    business: MockServer, data: Dataset, msdn: str
) -> None:
    if msdn == "wrong check digit":
        valid = data.enterprise(0).msdn[:10]
        msdn = valid[:9] + str((int(valid[9]) + 1) % 10)
    status, body = await business.enterprise(msdn, await business.token())
    assert status == 400
    assert (body["Status"], body["ErrorCode"]) == ("0", "INVALID_MSDN")


async def test_missing_and_invalid_tokens_are_refused_like_wso2(
    business: MockServer, data: Dataset
) -> None:
    msdn = data.enterprise(0).msdn
    async with business.http.get(business.url + DETAIL, params={"msdn": msdn}) as response:
        assert response.status == 401
        assert (await response.json())["fault"]["code"] == 900902
    status, body = await business.enterprise(msdn, "not-a-token")
    assert (status, body["fault"]["code"]) == (401, 900901)


async def test_expiring_every_token_makes_the_next_call_a_401(
    business: MockServer, data: Dataset
) -> None:
    msdn = data.enterprise(0).msdn
    token = await business.token()
    assert (await business.enterprise(msdn, token))[0] == 200
    async with business.http.post(f"{business.url}/_admin/expire-tokens") as response:
        assert (await response.json())["expired"] == 1
    status, body = await business.enterprise(msdn, token)
    assert (status, body["fault"]["code"]) == (401, 900901)
    assert (await business.enterprise(msdn, await business.token()))[0] == 200


def test_tokens_expire_after_their_ttl() -> None:
    now = [1000.0]
    store = TokenStore(ttl=60, clock=lambda: now[0])
    token = store.issue()
    assert store.valid(token)
    now[0] += 59.9
    assert store.valid(token)
    now[0] += 0.2
    assert not store.valid(token)
    assert not store.valid("unknown")
