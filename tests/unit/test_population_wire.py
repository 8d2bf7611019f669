"""The population adapter's wire: recorded SOAP answers → the local model, faults → our errors,
and the envelopes and signed headers we build (checked against the contract and the real mock)."""

from __future__ import annotations

import base64
import hashlib
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any

import pytest
from defusedxml.ElementTree import fromstring

from adapters.central import CentralSession
from adapters.errors import (
    CentralProtocolError,
    CentralRejected,
    IdempotencyConflict,
    TransientError,
)
from adapters.population import citizen_verify, residence_declaration, wire
from adapters.population.client import DECLARE_PATH, LOOKUP_PATH, PopulationClient
from mocks.data import Dataset, ensure_dataset
from mocks.settings import MockSettings
from schemas.config import AdapterSettings
from schemas.population import (
    BloodGroup,
    CitizenVerifyRequest,
    MaritalStatus,
    ResidenceDeclarationRequest,
    Sex,
)
from tests.fixtures.fakes import ScriptedSession, answer, context, recorded
from tests.support.stack import running_mocks

CREDENTIALS = {"client": "VN/GOV/TEST", "user": "lgsp-hp", "api_key": "k", "secret": "demo-secret"}
SETTINGS = AdapterSettings.model_validate({"credentials": CREDENTIALS})
VERIFY = CitizenVerifyRequest(
    personal_id="031301874276", full_name="Nguyễn Thùy Hiền", date_of_birth=date(2001, 7, 22)
)
DECLARE = ResidenceDeclarationRequest.model_validate(
    {
        "personal_id": "031301874276",
        "full_name": "Nguyễn Thùy Hiền",
        "address": {"detail": "Số 5 Lạch Tray & <Cầu Đất>", "province_code": "31",
                    "district_code": "304", "ward_code": "11356"},
        "from_date": "2026-01-01",
        "to_date": "2026-12-31",
        "reason": "Đi làm",
    }
)  # fmt: skip


def client_with(*script: Any) -> tuple[PopulationClient, ScriptedSession]:
    session = ScriptedSession(list(script))
    return PopulationClient(session, SETTINGS), session


def soap(name: str, status: int = 200) -> Any:
    return answer(status, recorded("population", name))


async def test_match_maps_the_whole_citizen() -> None:
    client, _ = client_with(soap("verify_match.xml"))
    result = await citizen_verify(VERIFY, context(client))
    assert result.matched is True
    assert result.mismatched_fields == []
    c = result.citizen
    assert c is not None
    assert c.personal_id == "031301874276"
    assert (c.family_name, c.middle_name, c.given_name) == ("Nguyễn", "Thùy", "Hiền")
    assert c.full_name == "Nguyễn Thùy Hiền"
    assert c.date_of_birth == date(2001, 7, 22)
    assert c.sex is Sex.FEMALE
    assert c.blood_group in set(BloodGroup)
    assert c.marital_status in set(MaritalStatus)
    assert c.permanent_address is not None
    assert c.permanent_address.province_code == "31"
    assert c.father is not None
    assert c.father.full_name


async def test_year_only_birth_keeps_the_year_and_no_date() -> None:
    client, _ = client_with(soap("verify_match_year_only.xml"))
    result = await citizen_verify(VERIFY, context(client))
    assert result.citizen is not None
    assert (result.citizen.date_of_birth, result.citizen.birth_year) == (None, 1959)


async def test_mismatch_names_the_fields_and_returns_no_record() -> None:
    client, _ = client_with(soap("verify_mismatch.xml"))
    result = await citizen_verify(VERIFY, context(client))
    assert (result.matched, result.mismatched_fields, result.citizen) == (
        False,
        ["full_name"],
        None,
    )


async def test_unknown_id_is_a_failed_match_naming_the_id_not_a_404() -> None:
    """No oracle: an unknown ID answers like a mismatch; `personal_id` is only in the
    `mismatch-detail` field group, which the gateway withholds unless granted."""
    client, _ = client_with(soap("verify_unknown.xml"))
    result = await citizen_verify(VERIFY, context(client))
    assert (result.matched, result.mismatched_fields, result.citizen) == (
        False,
        ["personal_id"],
        None,
    )


async def test_client_faults_are_rejections_and_server_faults_transient() -> None:
    client, _ = client_with(soap("fault_not_licensed.xml", 500))
    with pytest.raises(CentralRejected) as info:
        await citizen_verify(VERIFY, context(client))
    assert "DC-002" in info.value.detail
    server_fault = (
        recorded("population", "fault_not_licensed.xml")
        .replace(b"soap:Client", b"soap:Server")
        .replace(b"DC-002", b"DC-999")
    )
    client, _ = client_with(answer(500, server_fault))
    with pytest.raises(TransientError):
        await citizen_verify(VERIFY, context(client))
    reused = recorded("population", "fault_not_licensed.xml").replace(b"DC-002", b"DC-004")
    client, _ = client_with(answer(500, reused))
    with pytest.raises(IdempotencyConflict):
        await residence_declaration(DECLARE, context(client, "key-0001-abcdef"))


@pytest.mark.parametrize(
    "body",
    [
        recorded("population", "verify_match.xml")[:700],
        b"Injected fault",
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e "boom">]><x>&e;</x>',
        # A DOCTYPE hidden by another encoding, and an external entity: refused all the same.
        '<?xml version="1.0" encoding="utf-16"?><!DOCTYPE x [<!ENTITY e "b">]><x>&e;</x>'.encode(
            "utf-16"
        ),
        b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
        b"<a><b/></a>",
    ],
)
async def test_unusable_answers_are_protocol_errors(body: bytes) -> None:
    client, _ = client_with(answer(200, body))
    with pytest.raises(CentralProtocolError):
        await citizen_verify(VERIFY, context(client))


async def test_receipt_maps_to_a_registered_declaration() -> None:
    client, session = client_with(soap("declaration_receipt.xml"))
    result = await residence_declaration(DECLARE, context(client, "key-0001-abcdef"))
    assert result.declaration_id == "TT31-2026-00000001"
    assert result.status == "registered"
    assert result.registered_at.utcoffset() is not None
    assert session.sent[0].headers["Idempotency-Key"] == "key-0001-abcdef"


async def test_envelope_and_signed_headers_match_the_wire_contract() -> None:
    client, session = client_with(soap("declaration_receipt.xml"))
    await residence_declaration(DECLARE, context(client, "key-0001-abcdef"))
    (sent,) = session.sent
    assert sent.path == DECLARE_PATH
    headers = sent.headers
    assert headers["X-Road-Client"] == "VN/GOV/TEST"
    assert headers["ApiKey"] == "k"
    user, _, digest = (
        base64.b64decode(headers["Authorization"].removeprefix("Basic ")).decode().partition(":")
    )
    expected = hashlib.sha256(
        (DECLARE_PATH + "lgsp-hp" + headers["Timestamp"] + "demo-secret").encode()
    ).hexdigest()
    assert (user, digest) == ("lgsp-hp", expected)
    operation = wire.parse_body(sent.data)
    assert wire.local(operation.tag) == "KhaiBaoTamTru"
    assert operation.tag == f"{{{wire.NS}}}KhaiBaoTamTru"
    assert wire.text(operation, "DiaChiTamTru", "ChiTiet") == "Số 5 Lạch Tray & <Cầu Đất>"
    assert wire.text(operation, "TuNgay") == "20260101"
    assert wire.text(operation, "MaDVC") == "1.001612"
    assert wire.text(operation, "MaYeuCau") == "req-0001"
    # well-formed XML that any parser reads (special characters escaped)
    assert fromstring(sent.data) is not None


def test_signature_matches_the_documented_worked_example(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("adapters.population.client.time.time", lambda: 1767225600.0)
    client, _ = client_with()
    headers = client.signed_headers(LOOKUP_PATH)
    assert headers["Timestamp"] == "1767225600000"
    assert headers["Authorization"] == (
        "Basic bGdzcC1ocDoxNThhNzM3YzM0Mjg4MmM2YmY2MmRiMmI5N2UyMTRhOGI0ZDY1YmVmYzNhNjUw"
        "M2FmOWNjZDk0YTMwNzhmN2U0"
    )


@pytest.fixture
async def population_mock(
    mock_settings: MockSettings, generated: dict[str, Any]
) -> AsyncIterator[PopulationClient]:
    async with running_mocks(mock_settings, ["population"]) as urls:
        settings = AdapterSettings.model_validate(
            {
                "base_url": urls["population"],
                "credentials": generated["adapters"]["population"]["credentials"],
            }
        )
        session = CentralSession(settings)
        try:
            yield PopulationClient(session, settings)
        finally:
            await session.aclose()


async def test_the_mock_accepts_both_requests(
    population_mock: PopulationClient, mock_settings: MockSettings
) -> None:
    with Dataset(ensure_dataset(mock_settings)) as data:
        ex = data.examples()["population"]
    request = CitizenVerifyRequest(
        personal_id=ex["SoDinhDanh"], full_name=ex["HoVaTen"],
        date_of_birth=datetime.strptime(ex["NgayThangNamSinh"], "%Y%m%d").date(),
    )  # fmt: skip
    result = await citizen_verify(request, context(population_mock))
    assert result.matched is True
    declare = DECLARE.model_copy(
        update={"personal_id": ex["SoDinhDanh"], "full_name": ex["HoVaTen"]}
    )
    receipt = await residence_declaration(declare, context(population_mock, str(uuid.uuid4())))
    assert receipt.declaration_id.startswith("TT31-")


@pytest.mark.parametrize(
    "value", ["20230230", "2023023", "２０２３０２０１", "2023-2-1", "00000101"]
)
async def test_an_impossible_or_malformed_birth_date_is_a_protocol_error(value: str) -> None:
    good = recorded("population", "verify_match.xml")
    assert b"<dc:NgayThangNam>20010722</dc:NgayThangNam>" in good
    bad = good.replace(b"20010722", value.encode())
    client, _ = client_with(answer(200, bad))
    with pytest.raises(CentralProtocolError, match="date of birth"):
        await citizen_verify(VERIFY, context(client))
