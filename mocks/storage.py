"""How the records are laid out in the SQLite data set.

One row per record; nested parts (addresses, relatives, activities, people)
are compact JSON arrays in a column, because the mocks always read a record
whole and a join per lookup would cost more than decoding a few short
arrays. Indexes cover exactly the lookups the mocks make.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import Any

import orjson

from mocks.records import (
    Activity,
    Address,
    Citizen,
    Enterprise,
    InsuredPerson,
    Member,
    Relation,
    Representative,
    Spell,
)

TABLES = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE citizens (
    n INTEGER PRIMARY KEY, so_dinh_danh TEXT NOT NULL, so_cmnd TEXT,
    ho TEXT NOT NULL, chu_dem TEXT NOT NULL, ten TEXT NOT NULL, ngay_sinh TEXT NOT NULL,
    gioi_tinh INTEGER NOT NULL, quoc_tich TEXT NOT NULL, dan_toc TEXT NOT NULL,
    ton_giao TEXT NOT NULL, nhom_mau TEXT NOT NULL, tinh_trang_hon_nhan INTEGER NOT NULL,
    que_quan TEXT NOT NULL, noi_dang_ky_khai_sinh TEXT NOT NULL, thuong_tru TEXT NOT NULL,
    noi_o_hien_tai TEXT NOT NULL, cha TEXT, me TEXT, vo_chong TEXT, chu_ho TEXT NOT NULL,
    ma_ho INTEGER NOT NULL
);
CREATE TABLE enterprises (
    n INTEGER PRIMARY KEY, msdn TEXT NOT NULL, enterprise_id TEXT NOT NULL,
    type_name TEXT NOT NULL, name TEXT NOT NULL, short_name TEXT NOT NULL,
    name_f TEXT NOT NULL, founding_date TEXT NOT NULL, last_amend_date TEXT NOT NULL,
    number_changes INTEGER NOT NULL, status_name TEXT NOT NULL,
    capital_amount INTEGER NOT NULL, street_number TEXT NOT NULL, ward_code TEXT NOT NULL,
    activities TEXT NOT NULL, members TEXT NOT NULL, representatives TEXT NOT NULL
);
CREATE TABLE insured (
    n INTEGER PRIMARY KEY, ma_so_bhxh TEXT NOT NULL, so_dinh_danh TEXT NOT NULL,
    ho_ten TEXT NOT NULL, ngay_sinh TEXT NOT NULL, loai_ngay_sinh INTEGER NOT NULL,
    gioi_tinh INTEGER NOT NULL, ma_tinh_ks TEXT NOT NULL, ma_huyen_ks TEXT NOT NULL,
    ma_xa_ks TEXT NOT NULL, trang_thai TEXT NOT NULL, ma_ho INTEGER NOT NULL,
    quan_he_chu_ho TEXT NOT NULL, ma_the TEXT NOT NULL, ma_kcb TEXT NOT NULL,
    tu_ngay_dt TEXT NOT NULL, den_ngay_dt TEXT NOT NULL, muc_huong INTEGER NOT NULL,
    ho_ten_key TEXT NOT NULL
);
CREATE TABLE spells (
    ma_so_bhxh TEXT NOT NULL, tu_thang TEXT NOT NULL, den_thang TEXT NOT NULL,
    ma_don_vi TEXT NOT NULL, ten_don_vi TEXT NOT NULL, muc_luong INTEGER NOT NULL,
    loai_dong TEXT NOT NULL, PRIMARY KEY (ma_so_bhxh, tu_thang)
) WITHOUT ROWID;
"""

# Built after the bulk insert: filling an index once is faster than
# maintaining it row by row.
INDEXES = """
CREATE UNIQUE INDEX citizens_id ON citizens (so_dinh_danh);
CREATE UNIQUE INDEX enterprises_msdn ON enterprises (msdn);
CREATE UNIQUE INDEX insured_code ON insured (ma_so_bhxh);
CREATE UNIQUE INDEX insured_card ON insured (ma_the);
CREATE UNIQUE INDEX insured_person ON insured (so_dinh_danh);
CREATE INDEX insured_name ON insured (ho_ten_key);
CREATE INDEX insured_household ON insured (ma_ho);
"""

CITIZEN_COLUMNS = (
    "so_dinh_danh, so_cmnd, ho, chu_dem, ten, ngay_sinh, gioi_tinh, quoc_tich, dan_toc, "
    "ton_giao, nhom_mau, tinh_trang_hon_nhan, que_quan, noi_dang_ky_khai_sinh, thuong_tru, "
    "noi_o_hien_tai, cha, me, vo_chong, chu_ho, ma_ho"
)
ENTERPRISE_COLUMNS = (
    "msdn, enterprise_id, type_name, name, short_name, name_f, founding_date, "
    "last_amend_date, number_changes, status_name, capital_amount, street_number, ward_code, "
    "activities, members, representatives"
)
INSURED_COLUMNS = (
    "ma_so_bhxh, so_dinh_danh, ho_ten, ngay_sinh, loai_ngay_sinh, gioi_tinh, ma_tinh_ks, "
    "ma_huyen_ks, ma_xa_ks, trang_thai, ma_ho, quan_he_chu_ho, ma_the, ma_kcb, tu_ngay_dt, "
    "den_ngay_dt, muc_huong"
)
SPELL_COLUMNS = "tu_thang, den_thang, ma_don_vi, ten_don_vi, muc_luong, loai_dong"


def insert(table: str, columns: int) -> str:
    """``INSERT INTO table VALUES (?, ...)`` for one of the tables above."""
    return f"INSERT INTO {table} VALUES ({', '.join('?' * columns)})"  # noqa: S608 -- our table names


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


def _relation(value: Relation | None) -> str | None:
    return None if value is None else _json(value.to_json())


def citizen_row(n: int, c: Citizen) -> tuple[Any, ...]:
    return (
        n, c.so_dinh_danh, c.so_cmnd, c.ho, c.chu_dem, c.ten, c.ngay_sinh, c.gioi_tinh,
        c.quoc_tich, c.dan_toc, c.ton_giao, c.nhom_mau, c.tinh_trang_hon_nhan,
        _json(c.que_quan.to_json()), _json(c.noi_dang_ky_khai_sinh.to_json()),
        _json(c.thuong_tru.to_json()), _json(c.noi_o_hien_tai.to_json()),
        _relation(c.cha), _relation(c.me), _relation(c.vo_chong), _relation(c.chu_ho), c.ma_ho,
    )  # fmt: skip


def citizen_from(row: sqlite3.Row | tuple[Any, ...]) -> Citizen:
    loads = orjson.loads
    chu_ho = Relation.from_json(loads(row[19]))
    assert chu_ho is not None  # the column is NOT NULL
    return Citizen(
        so_dinh_danh=row[0],
        so_cmnd=row[1],
        ho=row[2],
        chu_dem=row[3],
        ten=row[4],
        ngay_sinh=row[5],
        gioi_tinh=row[6],
        quoc_tich=row[7],
        dan_toc=row[8],
        ton_giao=row[9],
        nhom_mau=row[10],
        tinh_trang_hon_nhan=row[11],
        que_quan=Address.from_json(loads(row[12])),
        noi_dang_ky_khai_sinh=Address.from_json(loads(row[13])),
        thuong_tru=Address.from_json(loads(row[14])),
        noi_o_hien_tai=Address.from_json(loads(row[15])),
        cha=Relation.from_json(loads(row[16])) if row[16] else None,
        me=Relation.from_json(loads(row[17])) if row[17] else None,
        vo_chong=Relation.from_json(loads(row[18])) if row[18] else None,
        chu_ho=chu_ho,
        ma_ho=row[20],
    )


def enterprise_row(n: int, e: Enterprise) -> tuple[Any, ...]:
    return (
        n, e.msdn, e.enterprise_id, e.type_name, e.name, e.short_name, e.name_f,
        e.founding_date, e.last_amend_date, e.number_changes, e.status_name, e.capital_amount,
        e.street_number, e.ward_code,
        _json([[a.code, a.name, a.is_main] for a in e.activities]),
        _json([[m.full_name, m.personal_id, m.capital_amount, m.capital_percent]
               for m in e.members]),
        _json([[r.full_name, r.personal_id, r.position, r.birth_date, r.gender]
               for r in e.representatives]),
    )  # fmt: skip


def enterprise_from(row: sqlite3.Row | tuple[Any, ...]) -> Enterprise:
    loads = orjson.loads
    return Enterprise(
        msdn=row[0],
        enterprise_id=row[1],
        type_name=row[2],
        name=row[3],
        short_name=row[4],
        name_f=row[5],
        founding_date=row[6],
        last_amend_date=row[7],
        number_changes=row[8],
        status_name=row[9],
        capital_amount=row[10],
        street_number=row[11],
        ward_code=row[12],
        activities=tuple(Activity(*a) for a in loads(row[13])),
        members=tuple(Member(*m) for m in loads(row[14])),
        representatives=tuple(Representative(*r) for r in loads(row[15])),
    )


def insured_row(n: int, p: InsuredPerson) -> tuple[Any, ...]:
    return (
        n, p.ma_so_bhxh, p.so_dinh_danh, p.ho_ten, p.ngay_sinh, p.loai_ngay_sinh, p.gioi_tinh,
        p.ma_tinh_ks, p.ma_huyen_ks, p.ma_xa_ks, p.trang_thai, p.ma_ho, p.quan_he_chu_ho,
        p.ma_the, p.ma_kcb, p.tu_ngay_dt, p.den_ngay_dt, p.muc_huong, p.ho_ten_key,
    )  # fmt: skip


def insured_from(row: sqlite3.Row | tuple[Any, ...]) -> InsuredPerson:
    return InsuredPerson(*row[:17])


def spell_rows(spells: Iterable[tuple[str, Spell]]) -> Iterable[tuple[Any, ...]]:
    for code, s in spells:
        yield (code, s.tu_thang, s.den_thang, s.ma_don_vi, s.ten_don_vi, s.muc_luong,
               s.loai_dong)  # fmt: skip


def spell_from(row: sqlite3.Row | tuple[Any, ...]) -> Spell:
    return Spell(*row)
