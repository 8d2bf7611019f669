"""The civil-status mock: HMAC-signed requests (timestamp, nonce, replay window), and birth
registrations that agree with the population data set (same ids, names, dates, parents)."""

from __future__ import annotations

import secrets
import time
from typing import Any

import orjson

from mocks.birth_registrations import certificate_of
from mocks.civil_status import LOOKUP_PATH, signature
from mocks.data import Dataset
from tests.mocks.support import MockServer


def signed(server: MockServer, body: bytes, **changes: str) -> dict[str, str]:
    creds = server.settings.credentials_for("civil-status")
    timestamp, nonce = changes.pop("timestamp", str(int(time.time()))), secrets.token_hex(12)
    nonce = changes.pop("nonce", nonce)
    headers = {
        "Content-Type": "application/json",
        "X-HT-Key-Id": creds["key_id"],
        "X-HT-Timestamp": timestamp,
        "X-HT-Nonce": nonce,
        "X-HT-Signature": signature(creds["secret"], "POST", LOOKUP_PATH, timestamp, nonce, body),
    }
    return headers | changes


async def post(server: MockServer, body: bytes, headers: dict[str, str]) -> tuple[int, Any]:
    async with server.http.post(server.url + LOOKUP_PATH, data=body, headers=headers) as response:
        return response.status, orjson.loads(await response.read())


def request_for(data: Dataset) -> tuple[bytes, Any]:
    citizen = next(c for c in data.citizens() if len(c.ngay_sinh) == 8 and c.cha and c.me)
    certificate = certificate_of(citizen)
    assert certificate is not None
    born = f"{citizen.ngay_sinh[6:]}/{citizen.ngay_sinh[4:6]}/{citizen.ngay_sinh[:4]}"
    body = {"so_giay_khai_sinh": certificate.number, "ho_ten": citizen.ho_va_ten, "ngay_sinh": born}
    return orjson.dumps(body), citizen


async def test_a_signed_lookup_answers_the_registration_of_a_population_citizen(
    civil_status: MockServer, data: Dataset
) -> None:
    body, citizen = request_for(data)
    status, answer = await post(civil_status, body, signed(civil_status, body))
    assert (status, answer["ma_ket_qua"]) == (200, "0")
    record = answer["du_lieu"]
    child = record["nguoi_duoc_khai_sinh"]
    assert child["so_dinh_danh"] == citizen.so_dinh_danh
    assert child["ho_ten"] == citizen.ho_va_ten
    assert record["co_quan_dang_ky"] == citizen.noi_dang_ky_khai_sinh.chi_tiet
    for wire, relation in (("cha", citizen.cha), ("me", citizen.me)):
        assert record[wire]["ho_ten"] == relation.ho_va_ten
        assert record[wire]["so_dinh_danh"] == relation.so_dinh_danh
        if relation.so_dinh_danh:  # a parent in the population database: their own birth year
            parent = data.citizen_by_id(relation.so_dinh_danh)
            assert parent is not None
            assert record[wire]["nam_sinh"] == parent.ngay_sinh[:4]


async def test_a_wrong_name_is_answered_as_not_found(
    civil_status: MockServer, data: Dataset
) -> None:
    body, _ = request_for(data)
    changed = orjson.loads(body) | {"ho_ten": "Trần Văn Khác"}
    body = orjson.dumps(changed)
    status, answer = await post(civil_status, body, signed(civil_status, body))
    assert (status, answer["ma_ket_qua"]) == (200, "1")


async def test_a_bad_signature_or_key_is_refused(civil_status: MockServer, data: Dataset) -> None:
    body, _ = request_for(data)
    tampered = signed(civil_status, body) | {"X-HT-Signature": "AAAA"}
    assert (await post(civil_status, body, tampered))[1]["ma_ket_qua"] == "3"
    other_key = signed(civil_status, body, **{"X-HT-Key-Id": "someone-else"})
    assert (await post(civil_status, body, other_key))[0] == 401
    # The signature covers the body: the same headers on another body are refused.
    headers = signed(civil_status, body)
    status, answer = await post(civil_status, body.replace(b"/", b"/0", 1), headers)
    assert (status, answer["ma_ket_qua"]) == (401, "3")


async def test_a_replayed_nonce_and_a_stale_timestamp_are_refused(
    civil_status: MockServer, data: Dataset
) -> None:
    body, _ = request_for(data)
    headers = signed(civil_status, body)
    assert (await post(civil_status, body, headers))[1]["ma_ket_qua"] == "0"
    status, answer = await post(civil_status, body, headers)  # the very same request again
    assert (status, answer["ma_ket_qua"]) == (401, "4")
    stale = str(int(time.time()) - civil_status.settings.max_clock_skew_s - 5)
    status, answer = await post(civil_status, body, signed(civil_status, body, timestamp=stale))
    assert (status, answer["ma_ket_qua"]) == (401, "4")


async def test_invalid_input_is_a_400_in_the_envelope(civil_status: MockServer) -> None:
    body = orjson.dumps({"so_giay_khai_sinh": "abc", "ho_ten": "X", "ngay_sinh": "2001-01-01"})
    status, answer = await post(civil_status, body, signed(civil_status, body))
    assert (status, answer["ma_ket_qua"]) == (400, "2")
