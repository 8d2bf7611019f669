"""The records the synthetic data set holds, as the mocks and tests read them.

Field names follow each ministry's vocabulary (snake_case here, the wire
spelling in the mock that serves them) so that a reader can map a column to
the wire contract in docs/mocks.md without a table.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mocks.names import name_key

#: The synthetic data describe the country as of this day; ongoing insurance
#: contributions run through the month before it. A fixed date (not "today")
#: keeps every answer reproducible.
DATA_AS_OF = "20260101"
LAST_CONTRIBUTION_MONTH = "202512"


@dataclass(frozen=True, slots=True)
class Address:
    """One population-register address: detail text plus unit codes."""

    chi_tiet: str
    ma_tinh_thanh: str
    ma_quan_huyen: str
    ma_phuong_xa: str
    quoc_gia: str = "VN"

    def to_json(self) -> list[str]:
        return [self.chi_tiet, self.ma_tinh_thanh, self.ma_quan_huyen, self.ma_phuong_xa,
                self.quoc_gia]  # fmt: skip

    @classmethod
    def from_json(cls, value: list[str]) -> Address:
        return cls(*value)


@dataclass(frozen=True, slots=True)
class Relation:
    """A relative named in a record (father, mother, spouse, household head).

    ``so_dinh_danh`` is None when the relative is not in the database (for
    instance the parents of an older person); ``quan_he`` is set only for
    the household head (the person's relationship to the head).
    """

    ho_va_ten: str
    so_dinh_danh: str | None
    quan_he: str | None = None

    def to_json(self) -> list[str | None]:
        return [self.ho_va_ten, self.so_dinh_danh, self.quan_he]

    @classmethod
    def from_json(cls, value: list[Any] | None) -> Relation | None:
        return None if value is None else cls(value[0], value[1], value[2])


@dataclass(frozen=True, slots=True)
class Citizen:
    """A citizen as the population database knows them."""

    so_dinh_danh: str
    so_cmnd: str | None
    ho: str
    chu_dem: str
    ten: str
    ngay_sinh: str  # yyyyMMdd, or yyyy when only the year is recorded
    gioi_tinh: int  # 1 male, 2 female
    quoc_tich: str
    dan_toc: str
    ton_giao: str
    nhom_mau: str
    tinh_trang_hon_nhan: int  # 1 single, 2 married, 3 divorced or widowed
    que_quan: Address
    noi_dang_ky_khai_sinh: Address
    thuong_tru: Address
    noi_o_hien_tai: Address
    cha: Relation | None
    me: Relation | None
    vo_chong: Relation | None
    chu_ho: Relation
    ma_ho: int  # household number, shared by everyone in the household

    @property
    def ho_va_ten(self) -> str:
        return " ".join(p for p in (self.ho, self.chu_dem, self.ten) if p)


@dataclass(frozen=True, slots=True)
class Activity:
    code: str  # VSIC
    name: str
    is_main: bool


@dataclass(frozen=True, slots=True)
class Member:
    full_name: str
    personal_id: str
    capital_amount: int
    capital_percent: float


@dataclass(frozen=True, slots=True)
class Representative:
    full_name: str
    personal_id: str
    position: str
    birth_date: str  # dd/MM/yyyy
    gender: int


@dataclass(frozen=True, slots=True)
class Enterprise:
    """An enterprise (or a dependent unit) in the business register."""

    msdn: str  # tax code: 10 digits, or XXXXXXXXXX-NNN for a branch
    enterprise_id: str
    type_name: str
    name: str
    short_name: str
    name_f: str
    founding_date: str  # dd/MM/yyyy
    last_amend_date: str  # dd/MM/yyyy or "" when never amended
    number_changes: int
    status_name: str
    capital_amount: int  # VND; 0 for branches
    street_number: str
    ward_code: str  # head office ward; province and district follow from it
    activities: tuple[Activity, ...]
    members: tuple[Member, ...]
    representatives: tuple[Representative, ...]


@dataclass(frozen=True, slots=True)
class InsuredPerson:
    """A participant of the social-insurance database, with their card."""

    ma_so_bhxh: str
    so_dinh_danh: str
    ho_ten: str
    ngay_sinh: str  # per loai_ngay_sinh: yyyyMMdd, yyyy or yyyyMM
    loai_ngay_sinh: int  # 0 full date, 1 year only, 2 year and month
    gioi_tinh: int
    ma_tinh_ks: str
    ma_huyen_ks: str
    ma_xa_ks: str
    trang_thai: str  # 1 participating, 2 paused, 3 stopped
    ma_ho: int
    quan_he_chu_ho: str
    ma_the: str
    ma_kcb: str
    tu_ngay_dt: str  # yyyyMMdd
    den_ngay_dt: str  # yyyyMMdd
    muc_huong: int  # percent

    @property
    def ho_ten_key(self) -> str:
        return name_key(self.ho_ten)


@dataclass(frozen=True, slots=True)
class Spell:
    """A period of contributions with one unit at one salary base.

    ``den_thang`` is "" while the spell is ongoing. ``muc_luong`` is the base
    in the first month; it grows 6 % on each January, as wages did.
    """

    tu_thang: str  # yyyyMM
    den_thang: str
    ma_don_vi: str
    ten_don_vi: str
    muc_luong: int
    loai_dong: str  # BB compulsory, TN voluntary
