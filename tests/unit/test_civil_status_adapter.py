"""The civil-status adapter keeps the SDK's contract, signs every request over its body, and
maps the register's answers to our errors (on `MockCentral`, the SDK's central double)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from adapters.civil_status import adapter
from adapters.civil_status.client import LOOKUP_PATH, CivilStatusClient
from adapters.sdk import (
    AdapterSettings,
    CentralProtocolError,
    CentralRejected,
    ConfigError,
    RecordNotFound,
    TransientError,
)
from adapters.testing import (
    AdapterContract,
    CentralRequest,
    MockCentral,
    central_response,
    handler_context,
)
from mocks.civil_status import signature
from schemas.civil_status import BirthRegistrationLookupRequest, BirthRegistrationLookupResponse

FOUND = json.loads(
    (Path(__file__).parents[1] / "fixtures/civil_status/registration_found.json").read_text()
)
CREDENTIALS = {"key_id": "LGSP-HP-test", "secret": "s3cret-for-the-tests-only"}
EXAMPLE = adapter.operations["birth-registration-lookup"].example or {}


def signed_correctly(request: CentralRequest) -> bool:
    h = request.headers
    expected = signature(
        CREDENTIALS["secret"],
        request.method,
        request.path,
        h["X-HT-Timestamp"],
        h["X-HT-Nonce"],
        request.body,
    )
    return h["X-HT-Key-Id"] == CREDENTIALS["key_id"] and h["X-HT-Signature"] == expected


class TestCivilStatusContract(AdapterContract):
    adapter = adapter

    def settings(self) -> AdapterSettings:
        return AdapterSettings.model_validate({"credentials": CREDENTIALS})

    def central(self, request: CentralRequest) -> Any:
        assert request.path == LOOKUP_PATH
        assert signed_correctly(request), "the mock's signature check would refuse this"
        return central_response(200, json=FOUND)


def lookup(answer: Any) -> tuple[BirthRegistrationLookupResponse, MockCentral]:
    session = MockCentral(lambda _r: answer)
    client = CivilStatusClient(session, TestCivilStatusContract().settings())
    op = adapter.operations["birth-registration-lookup"]
    req = BirthRegistrationLookupRequest.model_validate(EXAMPLE)

    async def call() -> Any:
        return await op.handler(req, handler_context(client))

    return asyncio.run(call()), session


def test_the_answer_carries_the_child_the_parents_and_the_registration() -> None:
    result, session = lookup(central_response(200, json=FOUND))
    r = result.registration
    assert (r.certificate_number, r.book_number, r.registered_on.isoformat()) == (
        "6232/2001",
        "13/2001",
        "2001-09-07",
    )
    assert r.child.full_name == "Nguyễn Thùy Hiền"
    assert r.child.date_of_birth.isoformat() == "2001-07-22"
    assert r.father is not None
    assert r.father.birth_year == 1965
    assert r.mother is not None
    assert r.mother.personal_id == "031168899515"
    assert r.registration_authority.startswith("Ủy ban nhân dân")
    sent = session.requests[0].json()
    assert sent == {  # the request's claims, in the register's own names and date format
        "so_giay_khai_sinh": EXAMPLE["certificate_number"],
        "ho_ten": EXAMPLE["child_full_name"],
        "ngay_sinh": "15/01/2020",
    }


def test_each_attempt_is_signed_afresh_with_a_new_nonce() -> None:
    client = CivilStatusClient(MockCentral(lambda _r: FOUND), TestCivilStatusContract().settings())
    first = client.signed_headers("POST", LOOKUP_PATH, b"{}")
    second = client.signed_headers("POST", LOOKUP_PATH, b"{}")
    assert first["X-HT-Nonce"] != second["X-HT-Nonce"]
    assert first["X-HT-Signature"] != second["X-HT-Signature"]


def test_a_signature_covers_the_body() -> None:
    """Changing one byte of the body breaks the signature the register checks."""
    client = CivilStatusClient(MockCentral(lambda _r: FOUND), TestCivilStatusContract().settings())
    headers = client.signed_headers("POST", LOOKUP_PATH, b'{"a": 1}')
    args = (headers["X-HT-Timestamp"], headers["X-HT-Nonce"])
    secret = CREDENTIALS["secret"]
    assert signature(secret, "POST", LOOKUP_PATH, *args, b'{"a": 1}') == headers["X-HT-Signature"]
    assert signature(secret, "POST", LOOKUP_PATH, *args, b'{"a": 2}') != headers["X-HT-Signature"]


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (200, "1", RecordNotFound),
        (400, "2", CentralRejected),
        (401, "3", CentralProtocolError),
        (401, "4", CentralProtocolError),
        (500, "9", TransientError),
        (200, "7", CentralProtocolError),
    ],
)
def test_register_codes_map_to_our_errors(status: int, code: str, error: type[Exception]) -> None:
    answer = central_response(status, json={"ma_ket_qua": code, "thong_diep": "x", "du_lieu": None})
    with pytest.raises(error):
        lookup(answer)


def test_missing_credentials_are_a_config_error_naming_them() -> None:
    with pytest.raises(ConfigError, match="key_id, secret"):
        CivilStatusClient(MockCentral(lambda _r: FOUND), AdapterSettings())
