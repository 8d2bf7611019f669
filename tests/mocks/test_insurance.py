"""The social-insurance mock: camelCase JSON POST, its envelope and codes."""

from __future__ import annotations

import pytest

from mocks.data import Dataset
from mocks.records import InsuredPerson
from tests.mocks.support import MockServer


def _employee(data: Dataset) -> InsuredPerson:
    """Someone with an ongoing compulsory contribution and a valid card."""
    for n in range(data.counts()["insured"]):
        person = data.insured(n)
        spells = data.spells(person.ma_so_bhxh)
        if person.trang_thai == "1" and any(s.den_thang == "" and s.loai_dong == "BB"
                                             for s in spells):  # fmt: skip
            return person
    raise AssertionError("no employee in the data set")


async def test_the_household_lookup_returns_the_participant_and_members(
    insurance: MockServer, data: Dataset
) -> None:
    person = data.insured(0)
    status, body = await insurance.insurance(
        "getTraCuuTtHgdByMaSoBhxh", {"maSoBhxh": person.ma_so_bhxh}
    )
    assert status == 200
    assert (body["maLoi"], body["moTa"]) == ("00", "Thành công")
    found = body["duLieu"]
    assert found["maSoBhxh"] == person.ma_so_bhxh
    assert found["hoTen"] == person.ho_ten
    assert found["soDinhDanh"] == person.so_dinh_danh
    assert found["loaiNgaySinh"] in (0, 1, 2)
    assert found["trangThai"] in ("1", "2", "3")
    members = {m["maSoBhxh"] for m in found["thanhVienHgd"]}
    assert person.ma_so_bhxh in members
    citizen = data.citizen_by_id(person.so_dinh_danh)
    assert citizen is not None
    assert found["maXaKs"] == citizen.noi_dang_ky_khai_sinh.ma_phuong_xa


async def test_a_search_by_criteria_finds_the_code(insurance: MockServer, data: Dataset) -> None:
    person = data.insured(3)
    criteria = {"hoTen": person.ho_ten.lower(), "ngaySinh": person.ngay_sinh[:4],
                "gioiTinh": person.gioi_tinh, "maTinhKs": person.ma_tinh_ks}  # fmt: skip
    status, body = await insurance.insurance("getMaSoBhxhByTieuChi", criteria)
    assert (status, body["maLoi"]) == (200, "00")
    assert person.ma_so_bhxh in [p["maSoBhxh"] for p in body["duLieu"]]
    criteria["gioiTinh"] = 3
    status, body = await insurance.insurance("getMaSoBhxhByTieuChi", criteria)
    assert (status, body["maLoi"], body["duLieu"]) == (200, "00", [])


async def test_contribution_history_has_one_row_per_month(
    insurance: MockServer, data: Dataset
) -> None:
    person = _employee(data)
    request = {"maSoBhxh": person.ma_so_bhxh, "tuThang": "202507", "denThang": "202603"}
    status, body = await insurance.insurance("getQuaTrinhThamGia", request)
    assert (status, body["maLoi"]) == (200, "00")
    rows = body["duLieu"]["danhSach"]
    months = [r["thang"] for r in rows]
    # An ongoing spell contributes every month up to the data set's last month.
    assert months[-1] == "202512"
    assert months == sorted(months)
    assert body["duLieu"]["tongSoThang"] == len(rows)
    for row in rows:
        assert row["loaiDong"] in ("BB", "TN")
        if row["loaiDong"] == "BB":
            assert row["soTien"] == round(row["mucLuong"] * 0.32)


async def test_a_valid_card_is_valid_on_a_day_in_its_range(
    insurance: MockServer, data: Dataset
) -> None:
    person = _employee(data)
    day = person.tu_ngay_dt
    request = {"maThe": person.ma_the, "ngayKiemTra": day, "hoTen": person.ho_ten,
               "ngaySinh": person.ngay_sinh}  # fmt: skip
    status, body = await insurance.insurance("kiemTraTheBhyt", request)
    assert (status, body["maLoi"]) == (200, "00")
    card = body["duLieu"]
    assert card["conHieuLuc"] is True
    assert (card["tuNgayDt"], card["denNgayDt"]) == (person.tu_ngay_dt, person.den_ngay_dt)
    assert card["mucHuong"] == person.muc_huong
    assert len(card["maKCB"]) == 5
    late = {"maThe": person.ma_the, "ngayKiemTra": "20990101"}
    body = (await insurance.insurance("kiemTraTheBhyt", late))[1]
    assert (body["duLieu"]["conHieuLuc"], body["duLieu"]["lyDo"]) == (False, "Thẻ hết hạn")


async def test_a_card_check_with_the_wrong_name_is_code_04(
    insurance: MockServer, data: Dataset
) -> None:
    person = data.insured(0)
    request = {"maThe": person.ma_the, "hoTen": "Không Phải Tôi"}
    status, body = await insurance.insurance("kiemTraTheBhyt", request)
    assert (status, body["maLoi"], body["duLieu"]) == (200, "04", None)


@pytest.mark.parametrize(
    ("operation", "request_body"),
    [
        ("getTraCuuTtHgdByMaSoBhxh", {"maSoBhxh": "0000000000"}),
        ("getQuaTrinhThamGia", {"maSoBhxh": "0000000000", "tuThang": "202501",
                                "denThang": "202502"}),
        ("kiemTraTheBhyt", {"maThe": "DN4310000000000"}),
    ],
)  # fmt: skip
async def test_unknown_codes_are_code_01_with_http_200(
    insurance: MockServer, operation: str, request_body: dict[str, str]
) -> None:
    status, body = await insurance.insurance(operation, request_body)
    assert (status, body["maLoi"], body["duLieu"]) == (200, "01", None)


@pytest.mark.parametrize(
    ("operation", "request_body"),
    [
        ("getTraCuuTtHgdByMaSoBhxh", {}),
        ("getTraCuuTtHgdByMaSoBhxh", {"maSoBhxh": 3112345678}),
        ("getTraCuuTtHgdByMaSoBhxh", ["3112345678"]),
        ("getMaSoBhxhByTieuChi", {"hoTen": "An", "ngaySinh": "1990-01-01"}),
        ("getMaSoBhxhByTieuChi", {"hoTen": "An", "ngaySinh": "1990", "gioiTinh": True}),
        ("getQuaTrinhThamGia", {"maSoBhxh": "3112345678", "tuThang": "202513",
                                "denThang": "202601"}),
        ("getQuaTrinhThamGia", {"maSoBhxh": "3112345678", "tuThang": "202601",
                                "denThang": "202501"}),
        ("getQuaTrinhThamGia", {"maSoBhxh": "3112345678", "tuThang": "200001",
                                "denThang": "202512"}),
        ("kiemTraTheBhyt", {"maThe": "dn4310000000000"}),
    ],
)  # fmt: skip
async def test_invalid_input_is_code_02_with_http_400(
    insurance: MockServer, operation: str, request_body: object
) -> None:
    status, body = await insurance.insurance(operation, request_body)
    assert (status, body["maLoi"]) == (400, "02")


async def test_a_body_that_is_not_json_is_code_02(insurance: MockServer) -> None:
    async with insurance.http.post(
        f"{insurance.url}/apiBHXH/getTraCuuTtHgdByMaSoBhxh",
        data=b"maSoBhxh=1",
        headers={"X-API-KEY": insurance.settings.insurance_api_key.get_secret_value()},
    ) as response:
        assert response.status == 400
        assert (await response.json())["maLoi"] == "02"


@pytest.mark.parametrize("key", ["", "wrong"])
async def test_a_missing_or_wrong_api_key_is_code_03_with_http_401(
    insurance: MockServer, key: str
) -> None:
    status, body = await insurance.insurance(
        "getTraCuuTtHgdByMaSoBhxh", {"maSoBhxh": "3112345678"}, api_key=key
    )
    assert (status, body["maLoi"]) == (401, "03")
