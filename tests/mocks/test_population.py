"""The population mock's wire contract: matching, X-Road auth, SOAP faults."""

from __future__ import annotations

import dataclasses
import io
import time

import pytest

from mocks.data import Dataset
from mocks.population import mismatched_fields
from mocks.records import Citizen
from tests.mocks.support import (
    LOOKUP,
    MockServer,
    envelope,
    fault_code,
    fields,
    lookup_body,
    requester,
    text,
)


def _adult_with_full_date(data: Dataset) -> Citizen:
    for n in range(data.counts()["citizens"]):
        citizen = data.citizen(n)
        if len(citizen.ngay_sinh) == 8 and citizen.vo_chong is not None:
            return citizen
    raise AssertionError("no married citizen with a full date of birth")


async def test_a_full_match_returns_the_citizen_record(
    population: MockServer, data: Dataset
) -> None:
    citizen = _adult_with_full_date(data)
    status, answer, response = await population.soap(
        LOOKUP, lookup_body(citizen.so_dinh_danh, citizen.ho_va_ten, citizen.ngay_sinh)
    )
    assert status == 200
    assert response.headers["Content-Type"].startswith("text/xml")
    assert text(answer, "KetQuaDoiChieu") == "KHOP"
    record = answer.find("{urn:mock:csdl-dancu:v1}DanhSachCongDan/{urn:mock:csdl-dancu:v1}CongDan")
    assert record is not None
    assert text(record, "SoDinhDanh") == citizen.so_dinh_danh
    assert text(record, "HoVaTen", "Ho") == citizen.ho
    assert text(record, "HoVaTen", "Ten") == citizen.ten
    assert text(record, "NgayThangNamSinh", "NgayThangNam") == citizen.ngay_sinh
    assert text(record, "GioiTinh") == str(citizen.gioi_tinh)
    assert text(record, "ThuongTru", "MaTinhThanh") == "31"
    assert text(record, "ThuongTru", "MaPhuongXa") == citizen.thuong_tru.ma_phuong_xa
    assert citizen.vo_chong is not None
    assert text(record, "VoChong", "SoDinhDanh") == citizen.vo_chong.so_dinh_danh
    assert text(record, "ChuHo", "QuanHe") in {"Chủ hộ", "Vợ", "Chồng"}
    assert text(record, "DanToc", "MaDanToc") == citizen.dan_toc


async def test_names_match_regardless_of_case_and_spacing(
    population: MockServer, data: Dataset
) -> None:
    citizen = _adult_with_full_date(data)
    sloppy = "  " + citizen.ho_va_ten.upper().replace(" ", "   ") + " "
    _, answer, _ = await population.soap(
        LOOKUP, lookup_body(citizen.so_dinh_danh, sloppy, citizen.ngay_sinh)
    )
    assert text(answer, "KetQuaDoiChieu") == "KHOP"


@pytest.mark.parametrize(
    ("change", "mismatched"),
    [("name", ["HoVaTen"]), ("birth", ["NgayThangNamSinh"]),
     ("both", ["HoVaTen", "NgayThangNamSinh"])],
)  # fmt: skip
async def test_a_partial_match_says_which_fields_differ_without_the_record(
    population: MockServer, data: Dataset, change: str, mismatched: list[str]
) -> None:
    citizen = _adult_with_full_date(data)
    name = citizen.ho_va_ten + "x" if change in ("name", "both") else citizen.ho_va_ten
    birth = "19000101" if change in ("birth", "both") else citizen.ngay_sinh
    status, answer, _ = await population.soap(
        LOOKUP, lookup_body(citizen.so_dinh_danh, name, birth)
    )
    assert status == 200
    assert text(answer, "KetQuaDoiChieu") == "KHONG_KHOP"
    listed = answer.findall(
        "{urn:mock:csdl-dancu:v1}TruongKhongKhop/{urn:mock:csdl-dancu:v1}Truong"
    )
    assert [e.text for e in listed] == mismatched
    collection = answer.find("{urn:mock:csdl-dancu:v1}DanhSachCongDan")
    assert collection is not None
    assert len(collection) == 0


async def test_a_year_alone_does_not_match_a_full_date_of_birth(
    population: MockServer, data: Dataset
) -> None:
    citizen = _adult_with_full_date(data)
    _, answer, _ = await population.soap(
        LOOKUP, lookup_body(citizen.so_dinh_danh, citizen.ho_va_ten, citizen.ngay_sinh[:4])
    )
    assert text(answer, "KetQuaDoiChieu") == "KHONG_KHOP"


def test_a_record_that_knows_only_the_year_matches_that_year(data: Dataset) -> None:
    citizen = dataclasses.replace(data.citizen(0), ngay_sinh="1942")
    name = citizen.ho_va_ten
    assert mismatched_fields(citizen, name, "1942") == []
    assert mismatched_fields(citizen, name, "19420315") == []
    assert mismatched_fields(citizen, name, "19430315") == ["NgayThangNamSinh"]


async def test_an_unknown_id_is_an_empty_collection(population: MockServer) -> None:
    status, answer, _ = await population.soap(
        LOOKUP, lookup_body("031099999999", "Nguyễn Văn An", "19990101")
    )
    assert status == 200
    assert text(answer, "KetQuaDoiChieu") == "KHONG_TON_TAI"
    collection = answer.find("{urn:mock:csdl-dancu:v1}DanhSachCongDan")
    assert collection is not None
    assert len(collection) == 0
    assert answer.find("{urn:mock:csdl-dancu:v1}TruongKhongKhop") is None


def _good_body(data: Dataset) -> bytes:
    c = data.citizen(0)
    return lookup_body(c.so_dinh_danh, c.ho_va_ten, c.ngay_sinh)


@pytest.mark.parametrize(
    ("changes", "code"),
    [
        ({"X-Road-Client": "VN/GOV/000.00.01.H26/OTHER"}, "XR-001"),
        ({"ApiKey": "wrong"}, "XR-001"),
        ({"Authorization": "Bearer abc"}, "XR-001"),
        ({"Authorization": "Basic !!!"}, "XR-001"),
        ({"Timestamp": "soon"}, "XR-003"),
        ({"Timestamp": "-400000"}, "XR-003"),  # offsets from now, in ms
        ({"Timestamp": "+400000"}, "XR-003"),
    ],
)
async def test_requests_with_bad_credentials_are_refused_with_401(
    population: MockServer, data: Dataset, changes: dict[str, str], code: str
) -> None:
    offset = changes.get("Timestamp", "")
    if offset[:1] in "+-" and offset[1:].isdigit():
        changes = changes | {"Timestamp": str(int(time.time() * 1000) + int(offset))}
    headers = population.signed(LOOKUP, **changes)
    status, fault, response = await population.soap(LOOKUP, _good_body(data), headers)
    assert status == 401
    assert fault.tag == "{http://schemas.xmlsoap.org/soap/envelope/}Fault"
    assert fault_code(fault) == code
    assert response.headers["X-Road-Error"] == code


async def test_a_signature_over_another_path_or_secret_is_invalid(
    population: MockServer, data: Dataset
) -> None:
    # Signed for the declaration path, sent to the lookup path.
    headers = population.signed("/csdldc/v1/KhaiBaoTamTru")
    status, fault, _ = await population.soap(LOOKUP, _good_body(data), headers)
    assert (status, fault_code(fault)) == (401, "XR-002")
    # A timestamp changed after signing no longer matches the signature.
    old = population.signed(LOOKUP)
    old["Timestamp"] = str(int(old["Timestamp"]) - 1)
    status, fault, _ = await population.soap(LOOKUP, _good_body(data), old)
    assert (status, fault_code(fault)) == (401, "XR-002")


async def test_a_refused_call_is_counted_but_not_answered(
    population: MockServer, data: Dataset
) -> None:
    headers = population.signed(LOOKUP, ApiKey="wrong")
    await population.soap(LOOKUP, _good_body(data), headers)
    stats = (await population.stats())["operations"]["TraCuuThongTinCongDan"]
    assert stats == {"calls": 1, "statuses": {"401": 1}}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        (b"not xml", "DC-001"),
        (b"<a/>", "DC-001"),
        (envelope("KhaiBaoTamTru", fields(**requester())), "DC-001"),
        (lookup_body("03108500123", "Nguyễn Văn An", "19850101"), "DC-001"),
        (lookup_body("031085001234", "Nguyễn Văn An", "19850231"), "DC-001"),
        (lookup_body("031085001234", "Nguyễn Văn An", "19850101", MaDVC="abc"), "DC-001"),
        (lookup_body("031085001234", "Nguyễn Văn An", "19850101", MaDVC="9.000123"), "DC-002"),
        (lookup_body("031085001234", "Nguyễn Văn An", "19850101", MaCanBo="REVOKED-7"), "DC-003"),
    ],
)
async def test_bad_requests_are_client_faults_with_http_500(
    population: MockServer, body: bytes, code: str
) -> None:
    status, fault, response = await population.soap(LOOKUP, body)
    assert status == 500
    assert fault.findtext("faultcode") == "soap:Client"
    assert fault_code(fault) == code
    assert response.headers["X-Road-Error"] == code


async def test_a_fault_echoes_the_request_id_once_it_was_read(population: MockServer) -> None:
    body = lookup_body("031085001234", "Nguyễn Văn An", "19850101", MaYeuCau="req-42",
                       MaDVC="9.000123")  # fmt: skip
    _, fault, _ = await population.soap(LOOKUP, body)
    detail = fault.find("detail")
    assert detail is not None
    assert text(detail, "LoiNghiepVu", "MaYeuCau") == "req-42"


async def test_entities_and_dtds_are_refused(population: MockServer) -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lol [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;">]>'
        b'<soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/">'
        b"<soap:Body>&lol2;</soap:Body></soap:Envelope>"
    )
    status, fault, _ = await population.soap(LOOKUP, bomb)
    assert (status, fault_code(fault)) == (500, "DC-001")


async def test_a_body_over_one_mebibyte_is_refused_by_http(population: MockServer) -> None:
    async with population.http.post(
        population.url + LOOKUP,
        data=io.BytesIO(b"x" * (1024 * 1024 + 1)),
        headers=population.signed(LOOKUP),
    ) as response:
        assert response.status == 413
