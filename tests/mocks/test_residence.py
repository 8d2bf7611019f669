"""Temporary-residence declarations: stored once per idempotency key."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from mocks.data import Dataset
from tests.mocks.support import DECLARE, MockServer, envelope, fault_code, fields, requester, text


def _declaration(data: Dataset, address: str = "Số 5 Lạch Tray", **changes: str) -> bytes:
    citizen = data.citizen(1)
    values: dict[str, Any] = {
        **requester(),
        "SoDinhDanh": citizen.so_dinh_danh,
        "HoVaTen": citizen.ho_va_ten,
        "DiaChiTamTru": {"ChiTiet": address, "MaTinhThanh": "31", "MaQuanHuyen": "304",
                         "MaPhuongXa": "11356", "QuocGia": "VN"},
        "TuNgay": "20260101",
        "DenNgay": "20261231",
        "LyDo": "Đi làm",
    }  # fmt: skip
    return envelope("KhaiBaoTamTru", fields(**(values | changes)))


async def _declare(server: MockServer, body: bytes, key: str | None) -> tuple[int, Any, Any]:
    headers = server.signed(DECLARE)
    if key is not None:
        headers["Idempotency-Key"] = key
    return await server.soap(DECLARE, body, headers)


async def _stored(server: MockServer, key: str) -> int:
    url = f"{server.url}/_admin/residence-declarations"
    async with server.http.get(url, params={"idempotency_key": key}) as response:
        count: int = (await response.json())["count"]
        return count


async def test_a_declaration_is_stored_and_acknowledged(
    population: MockServer, data: Dataset
) -> None:
    key = str(uuid.uuid4())
    status, answer, response = await _declare(population, _declaration(data), key)
    assert status == 200
    assert text(answer, "TrangThai") == "DA_TIEP_NHAN"
    record = text(answer, "MaHoSo")
    assert record is not None
    assert record.startswith("TT31-")
    assert response.headers["Idempotent-Replayed"] == "false"
    assert await _stored(population, key) == 1


async def test_a_repeat_with_the_same_key_replays_the_first_answer_and_stores_nothing(
    population: MockServer, data: Dataset
) -> None:
    key = str(uuid.uuid4())
    body = _declaration(data)
    first = await _declare(population, body, key)
    # A retry may renew its request id: the content is what counts.
    again = await _declare(population, _declaration(data), key)
    assert first[0] == again[0] == 200
    assert text(again[1], "MaHoSo") == text(first[1], "MaHoSo")
    assert text(again[1], "MaYeuCau") == text(first[1], "MaYeuCau")
    assert again[2].headers["Idempotent-Replayed"] == "true"
    assert await _stored(population, key) == 1
    stats = (await population.stats())["operations"]["KhaiBaoTamTru"]
    assert stats["calls"] == 2


async def test_the_same_key_with_another_declaration_is_a_fault(
    population: MockServer, data: Dataset
) -> None:
    key = str(uuid.uuid4())
    await _declare(population, _declaration(data), key)
    status, fault, response = await _declare(population, _declaration(data, "Số 6 Lê Lợi"), key)
    assert status == 500
    assert fault_code(fault) == "DC-004"
    assert response.headers["X-Road-Error"] == "DC-004"
    assert await _stored(population, key) == 1


async def test_keys_are_independent(population: MockServer, data: Dataset) -> None:
    keys = [str(uuid.uuid4()) for _ in range(2)]
    answers = [await _declare(population, _declaration(data), key) for key in keys]
    assert text(answers[0][1], "MaHoSo") != text(answers[1][1], "MaHoSo")
    assert [await _stored(population, key) for key in keys] == [1, 1]


@pytest.mark.parametrize("key", [None, "", "has space", "x" * 129])
async def test_a_declaration_needs_a_well_formed_key(
    population: MockServer, data: Dataset, key: str | None
) -> None:
    status, fault, _ = await _declare(population, _declaration(data), key)
    assert (status, fault_code(fault)) == (500, "DC-001")


async def test_a_refused_declaration_does_not_consume_its_key(
    population: MockServer, data: Dataset
) -> None:
    key = str(uuid.uuid4())
    wrong_name = _declaration(data, HoVaTen="Không Có Ai")
    status, fault, _ = await _declare(population, wrong_name, key)
    assert (status, fault_code(fault)) == (500, "DC-005")
    assert await _stored(population, key) == 0
    status, _, _ = await _declare(population, _declaration(data), key)
    assert status == 200
    assert await _stored(population, key) == 1


@pytest.mark.parametrize(
    "changes",
    [{"TuNgay": "20261231", "DenNgay": "20260101"}, {"TuNgay": "2026-01-01"},
     {"SoDinhDanh": "12345"}],
)  # fmt: skip
async def test_invalid_declarations_are_malformed(
    population: MockServer, data: Dataset, changes: dict[str, str]
) -> None:
    key = str(uuid.uuid4())
    status, fault, _ = await _declare(population, _declaration(data, **changes), key)
    assert (status, fault_code(fault)) == (500, "DC-001")
    assert await _stored(population, key) == 0
