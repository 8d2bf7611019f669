"""The synthetic data set: deterministic, cached, valid and consistent across systems."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import unicodedata
from pathlib import Path

import pytest
from pydantic import ValidationError

from mocks.data import Dataset, build_dataset, dataset_path, ensure_dataset
from mocks.identifiers import (
    card_social_insurance_code,
    is_card_code,
    is_personal_id,
    is_social_insurance_code,
    is_tax_code,
    personal_id_matches,
)
from mocks.places import HAI_PHONG, PROVINCES, locate
from mocks.records import Citizen, Member, Representative
from mocks.settings import DataSettings, MockSettings
from tests.mocks.conftest import SMALL, make_settings


def _citizens(data: Dataset) -> list[Citizen]:
    return [data.citizen(n) for n in range(data.counts()["citizens"])]


def _dump(path: Path) -> list[tuple[object, ...]]:
    db = sqlite3.connect(path)
    try:
        rows: list[tuple[object, ...]] = []
        for table in ("citizens", "enterprises", "insured", "spells", "meta"):
            rows += db.execute(f"SELECT * FROM {table} ORDER BY 1, 2").fetchall()  # noqa: S608 -- fixed names
        return rows
    finally:
        db.close()


def test_the_same_seed_gives_the_same_data(tmp_path: Path) -> None:
    build_dataset(tmp_path / "a.sqlite3", 7, 300, 50, 200)
    build_dataset(tmp_path / "b.sqlite3", 7, 300, 50, 200)
    build_dataset(tmp_path / "c.sqlite3", 8, 300, 50, 200)
    assert _dump(tmp_path / "a.sqlite3") == _dump(tmp_path / "b.sqlite3")
    assert _dump(tmp_path / "a.sqlite3") != _dump(tmp_path / "c.sqlite3")


def test_the_data_set_is_cached_under_a_name_that_encodes_its_recipe(tmp_path: Path) -> None:
    settings = make_settings(tmp_path)
    path = ensure_dataset(settings)
    assert path == dataset_path(settings)
    assert f"seed{settings.seed}" in path.name
    assert f"c{SMALL['citizens']}-e{SMALL['enterprises']}-i{SMALL['insured']}" in path.name
    built = path.stat().st_mtime_ns
    assert ensure_dataset(settings) == path
    assert path.stat().st_mtime_ns == built  # reused, not rebuilt
    # Built under a temporary name and renamed: nothing else is left behind.
    assert sorted(p.name for p in tmp_path.iterdir()) == [path.name]


def test_a_failed_build_leaves_no_file_behind(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="insured"):
        build_dataset(tmp_path / "x.sqlite3", 1, 10, 0, 20)
    assert list(tmp_path.iterdir()) == []


def test_settings_refuse_more_insured_persons_than_citizens(tmp_path: Path) -> None:
    with pytest.raises(ValidationError, match="insured"):
        DataSettings(data_dir=tmp_path, citizens=10, insured=11)


def test_mock_settings_have_no_default_secrets(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POPULATION_API_KEY", "POPULATION_SECRET", "BUSINESS_CLIENT_ID",
                 "BUSINESS_CLIENT_SECRET", "INSURANCE_API_KEY"):  # fmt: skip
        monkeypatch.delenv(f"LGSP_MOCK_{name}", raising=False)
    with pytest.raises(ValidationError) as caught:
        MockSettings()
    missing = {error["loc"][0] for error in caught.value.errors()}
    assert missing == {"population_api_key", "population_secret", "business_client_id",
                       "business_client_secret", "insurance_api_key"}  # fmt: skip


def test_the_sizes_are_the_ones_asked_for(data: Dataset) -> None:
    assert data.counts() == SMALL


def test_citizens_have_valid_ids_consistent_with_their_birth(data: Dataset) -> None:
    citizens = _citizens(data)
    assert len({c.so_dinh_danh for c in citizens}) == len(citizens)
    for c in citizens:
        assert is_personal_id(c.so_dinh_danh), c
        assert personal_id_matches(c.so_dinh_danh, c.ngay_sinh, c.gioi_tinh), c
        # The ID's province is where the birth was registered.
        assert c.so_dinh_danh[1:3] == c.noi_dang_ky_khai_sinh.ma_tinh_thanh
        assert len(c.ngay_sinh) in (4, 8)
        assert c.so_cmnd is None or (len(c.so_cmnd) == 9 and c.so_cmnd.isdigit())
    provinces = {c.so_dinh_danh[:3] for c in citizens}
    assert "031" in provinces
    share = sum(c.so_dinh_danh.startswith("031") for c in citizens) / len(citizens)
    assert share > 0.7


def test_names_are_nfc_vietnamese_text(data: Dataset) -> None:
    for c in _citizens(data):
        for text in (c.ho, c.chu_dem, c.ten, c.thuong_tru.chi_tiet, c.chu_ho.ho_va_ten):
            assert unicodedata.is_normalized("NFC", text), text
    assert any(not c.ho_va_ten.isascii() for c in _citizens(data))


def test_addresses_use_real_shaped_unit_codes(data: Dataset) -> None:
    for c in _citizens(data):
        for address in (c.thuong_tru, c.noi_o_hien_tai, c.que_quan, c.noi_dang_ky_khai_sinh):
            province, district, _ = locate(address.ma_phuong_xa)
            assert (address.ma_tinh_thanh, address.ma_quan_huyen) == (province.code, district.code)
            assert len(address.ma_quan_huyen) == 3
            assert len(address.ma_phuong_xa) == 5
        # Everyone lives in Hải Phòng.
        assert c.thuong_tru.ma_tinh_thanh == HAI_PHONG.code


def test_ward_codes_are_unique_across_provinces() -> None:
    codes = [w.code for p in PROVINCES.values() for d in p.districts for w in d.wards]
    assert len(codes) == len(set(codes))


def test_relatives_are_citizens_with_the_name_they_are_referred_by(data: Dataset) -> None:
    by_id = {c.so_dinh_danh: c for c in _citizens(data)}
    linked = 0
    for c in by_id.values():
        for relation in (c.cha, c.me, c.vo_chong, c.chu_ho):
            if relation is None or relation.so_dinh_danh is None:
                continue
            linked += 1
            relative = by_id[relation.so_dinh_danh]
            assert relative.ho_va_ten == relation.ho_va_ten
        if c.vo_chong is not None and c.vo_chong.so_dinh_danh is not None:
            spouse = by_id[c.vo_chong.so_dinh_danh]
            assert spouse.vo_chong is not None
            assert spouse.vo_chong.so_dinh_danh == c.so_dinh_danh
            assert spouse.gioi_tinh != c.gioi_tinh
            assert c.tinh_trang_hon_nhan == 2
        if c.cha is not None and c.cha.so_dinh_danh is not None:
            father = by_id[c.cha.so_dinh_danh]
            assert father.gioi_tinh == 1
            assert int(father.ngay_sinh[:4]) < int(c.ngay_sinh[:4])
        head = by_id[c.chu_ho.so_dinh_danh or ""]
        assert head.ma_ho == c.ma_ho
        assert head.thuong_tru == c.thuong_tru
    assert linked > len(by_id)  # household heads alone give one link each


def test_enterprises_have_valid_tax_codes_and_citizen_representatives(data: Dataset) -> None:
    codes = set()
    for n in range(data.counts()["enterprises"]):
        e = data.enterprise(n)
        assert is_tax_code(e.msdn), e.msdn
        assert e.msdn.startswith("02")
        codes.add(e.msdn)
        if "-" in e.msdn:
            assert e.msdn.split("-")[0] in codes  # a branch of an earlier enterprise
        assert sum(a.is_main for a in e.activities) == 1
        assert all(len(a.code) == 4 and a.code.isdigit() for a in e.activities)
        assert e.representatives
        founded = int(e.founding_date[-4:])
        people: list[Representative | Member] = [*e.representatives, *e.members]
        for person in people:
            citizen = data.citizen_by_id(person.personal_id)
            assert citizen is not None
            assert citizen.ho_va_ten == person.full_name
            assert founded - int(citizen.ngay_sinh[:4]) >= 18
        if e.members:
            assert sum(m.capital_amount for m in e.members) == e.capital_amount
    assert any("-" in code for code in codes)


def test_insured_persons_are_citizens_with_valid_codes(data: Dataset) -> None:
    seen_codes = set()
    for n in range(data.counts()["insured"]):
        p = data.insured(n)
        citizen = data.citizen_by_id(p.so_dinh_danh)
        assert citizen is not None
        assert (p.ho_ten, p.gioi_tinh) == (citizen.ho_va_ten, citizen.gioi_tinh)
        assert citizen.ngay_sinh.startswith(p.ngay_sinh)
        assert len(p.ngay_sinh) == {0: 8, 1: 4, 2: 6}[p.loai_ngay_sinh]
        assert p.ma_xa_ks == citizen.noi_dang_ky_khai_sinh.ma_phuong_xa
        assert is_social_insurance_code(p.ma_so_bhxh)
        assert is_card_code(p.ma_the)
        assert card_social_insurance_code(p.ma_the) == p.ma_so_bhxh
        assert p.tu_ngay_dt <= p.den_ngay_dt
        seen_codes.add(p.ma_so_bhxh)
        for spell in data.spells(p.ma_so_bhxh):
            if spell.loai_dong == "BB" and spell.ma_don_vi.startswith("02"):
                employer = data.enterprise_by_msdn(spell.ma_don_vi)
                assert employer is not None
                assert employer.name == spell.ten_don_vi
    share_31 = sum(code.startswith("31") for code in seen_codes) / len(seen_codes)
    assert share_31 > 0.8


def test_examples_are_valid_requests_for_each_system(data: Dataset) -> None:
    examples = data.examples()
    person = examples["population"]
    citizen = data.citizen_by_id(person["SoDinhDanh"])
    assert citizen is not None
    assert (citizen.ho_va_ten, citizen.ngay_sinh) == (person["HoVaTen"], person["NgayThangNamSinh"])
    assert data.enterprise_by_msdn(examples["business"]["msdn"]) is not None
    insured = data.insured_by_code(examples["insurance"]["maSoBhxh"])
    assert insured is not None
    assert insured.ma_the == examples["insurance"]["maThe"]


def test_the_command_line_prints_the_examples_as_json(
    settings: MockSettings, dataset_path: Path, data: Dataset
) -> None:
    env = {**os.environ, "LGSP_MOCK_DATA_DIR": str(settings.data_dir)}
    env |= {f"LGSP_MOCK_{key.upper()}": str(value) for key, value in SMALL.items()}
    done = subprocess.run(
        [sys.executable, "-m", "mocks.data", "--examples"],
        env=env, capture_output=True, check=True, timeout=120,
    )  # fmt: skip
    assert json.loads(done.stdout) == data.examples()
