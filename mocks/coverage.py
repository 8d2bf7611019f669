"""Synthetic participants of the social-insurance database, their health cards
and their contribution history.

Every insured person is a citizen (same personal ID, name, sex and place of
birth registration). The beneficiary group follows age and work: children
under six are TE, pupils HS, employees DN (their employer is an enterprise of
the business data set, founded before the spell started) or HC (a ward
People's Committee), pensioners HT, the self-insured GD. History is stored as
spells (one unit, one salary base) rather than months, so the data set stays
small; the insurance mock expands spells into monthly rows on request.
"""

from __future__ import annotations

import datetime as dt
import random
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from mocks.identifiers import make_card_code
from mocks.places import locate
from mocks.records import LAST_CONTRIBUTION_MONTH, Citizen, Enterprise, InsuredPerson, Spell

#: Benefit level (the card's third character) to the percentage covered.
BENEFIT_PERCENT = {1: 100, 2: 100, 3: 95, 4: 80, 5: 100}

#: Registered clinics (mã KCB ban đầu) a card can name.
CLINICS: dict[str, str] = {
    code: unicodedata.normalize("NFC", name)
    for code, name in (
        ("31001", "Bệnh viện Hữu nghị Việt Tiệp"),
        ("31002", "Bệnh viện Kiến An"),
        ("31003", "Bệnh viện Trẻ em Hải Phòng"),
        ("31004", "Bệnh viện Phụ sản Hải Phòng"),
        ("31005", "Bệnh viện Đa khoa quốc tế Hải Phòng"),
        ("31010", "Trung tâm Y tế quận Ngô Quyền"),
        ("31011", "Trung tâm Y tế quận Lê Chân"),
        ("31012", "Trung tâm Y tế quận Hồng Bàng"),
        ("31013", "Trung tâm Y tế quận Hải An"),
        ("31020", "Trung tâm Y tế huyện Thủy Nguyên"),
        ("31021", "Trung tâm Y tế huyện An Dương"),
        ("31022", "Trung tâm Y tế huyện Vĩnh Bảo"),
    )
}
_CLINIC_CODES = tuple(CLINICS)

#: trangThai codes of a participant.
STATUS_TEXT = {"1": "Đang tham gia", "2": "Tạm dừng tham gia", "3": "Dừng tham gia"}

_CARD_VALID_UNTIL = "20271231"
# Monthly salary bases of employees in 2025 (VND); older months scale down.
_SALARIES_2025 = (4_960_000, 5_500_000, 6_000_000, 7_000_000, 8_000_000, 10_000_000,
                  12_000_000, 15_000_000, 20_000_000, 30_000_000)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Coverage:
    """What the generator produces: participants and their spells."""

    people: list[InsuredPerson]
    spells: list[tuple[str, Spell]]  # (maSoBhxh, spell)


def _month(year: int, month: int) -> str:
    return f"{year:04d}{month:02d}"


def _add_months(yyyymm: str, months: int) -> str:
    index = int(yyyymm[:4]) * 12 + int(yyyymm[4:]) - 1 + months
    return _month(index // 12, index % 12 + 1)


class CoverageGenerator:
    """Draws insured persons for a subset of ``citizens``."""

    def __init__(
        self, rng: random.Random, citizens: Sequence[Citizen], enterprises: Sequence[Enterprise]
    ) -> None:
        self._rng = rng
        self._citizens = citizens
        self._employers = [e for e in enterprises if "-" not in e.msdn]
        self._codes: set[str] = set()

    def generate(self, count: int) -> Coverage:
        rng = self._rng
        if count >= len(self._citizens):
            chosen = list(range(len(self._citizens)))
        else:
            chosen = sorted(rng.sample(range(len(self._citizens)), count))
        people: list[InsuredPerson] = []
        spells: list[tuple[str, Spell]] = []
        for index in chosen:
            person, history = self._insured(self._citizens[index])
            people.append(person)
            spells.extend((person.ma_so_bhxh, s) for s in history)
        return Coverage(people, spells)

    def _insured(self, citizen: Citizen) -> tuple[InsuredPerson, list[Spell]]:
        rng = self._rng
        year = int(citizen.ngay_sinh[:4])
        age = 2025 - year
        code = self._social_insurance_code(citizen.noi_dang_ky_khai_sinh.ma_tinh_thanh)
        status = "1" if rng.random() < 0.92 else rng.choice("23")
        # Whoever is not participating any more stopped some time in 2025.
        stopped = "" if status == "1" else _month(2025, rng.randint(1, 11))
        history: list[Spell] = []
        if age < 6:
            group, level = "TE", 1
        elif age < 18:
            group, level = "HS", 4
        elif age >= 60:
            worked = rng.random() < 0.5
            group, level = ("HT", 2) if worked else ("GD", 4)
            if worked:
                retired = year + (60 if citizen.gioi_tinh == 1 else 55)
                history = self._career(year, end=_month(min(retired, 2025), 6))
        else:
            roll = rng.random()
            if roll < 0.55 and self._employers:
                group, level = "DN", 4
                history = self._career(year, end=stopped)
            elif roll < 0.65:
                group, level = "HC", 4
                history = [self._public_spell(citizen, year, stopped)]
            elif roll < 0.92:
                group, level = "GD", 4
                if rng.random() < 0.3:
                    history = [self._voluntary_spell(year, stopped)]
            else:
                group, level = ("CN", 3) if rng.random() < 0.6 else ("HN", 1)
        valid_from = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(731))
        valid_until = _CARD_VALID_UNTIL
        if group == "TE" and len(citizen.ngay_sinh) == 8:
            # A child's card runs from birth until the day before the sixth birthday.
            valid_from = dt.datetime.strptime(citizen.ngay_sinh, "%Y%m%d").date()
            sixth = dt.date(year + 6, int(citizen.ngay_sinh[4:6]), 1) - dt.timedelta(days=1)
            valid_until = sixth.strftime("%Y%m%d")
        if status != "1":
            # Stopped or paused participants hold a card that has lapsed.
            lapsed = valid_from + dt.timedelta(days=rng.randint(30, 300))
            valid_until = min(lapsed.strftime("%Y%m%d"), "20251231")
        birth, kind = citizen.ngay_sinh, 0 if len(citizen.ngay_sinh) == 8 else 1
        if kind == 0 and rng.random() < 0.02:
            # Some insurance records keep only the month of birth.
            birth, kind = birth[:6], 2
        birth_place = citizen.noi_dang_ky_khai_sinh
        return InsuredPerson(
            ma_so_bhxh=code,
            so_dinh_danh=citizen.so_dinh_danh,
            ho_ten=citizen.ho_va_ten,
            ngay_sinh=birth,
            loai_ngay_sinh=kind,
            gioi_tinh=citizen.gioi_tinh,
            ma_tinh_ks=birth_place.ma_tinh_thanh,
            ma_huyen_ks=birth_place.ma_quan_huyen,
            ma_xa_ks=birth_place.ma_phuong_xa,
            trang_thai=status,
            ma_ho=citizen.ma_ho,
            quan_he_chu_ho=citizen.chu_ho.quan_he or "",
            ma_the=make_card_code(group, level, "31", code),
            ma_kcb=rng.choice(_CLINIC_CODES),
            tu_ngay_dt=min(valid_from.strftime("%Y%m%d"), valid_until),
            den_ngay_dt=valid_until,
            muc_huong=BENEFIT_PERCENT[level],
        ), history

    def _social_insurance_code(self, birth_province: str) -> str:
        # Codes issued in Hải Phòng start with 31; people registered at birth
        # elsewhere sometimes kept a code from that province.
        prefix = birth_province if birth_province != "31" and self._rng.random() < 0.5 else "31"
        while True:
            code = f"{prefix}{self._rng.randrange(100_000_000):08d}"
            if code not in self._codes:
                self._codes.add(code)
                return code

    def _career(self, year: int, end: str) -> list[Spell]:
        """One to three employers in a row; ``end`` "" means still employed."""
        rng = self._rng
        start = _month(max(1995, year + rng.randint(18, 25)), rng.randint(1, 12))
        limit = end or LAST_CONTRIBUTION_MONTH
        count = rng.randint(1, 3)
        spells: list[Spell] = []
        for i in range(count):
            employer = rng.choice(self._employers)
            founded = f"{employer.founding_date[6:]}{employer.founding_date[3:5]}"
            start = max(start, founded)
            if start > limit:
                break
            last = i == count - 1
            stop = end if last else _add_months(start, rng.randint(12, 120))
            if stop >= limit:
                stop, last = end, True
            base = rng.choice(_SALARIES_2025)
            spells.append(Spell(start, stop, employer.msdn, employer.name,
                                _base_at(base, start), "BB"))  # fmt: skip
            if last:
                break
            start = _add_months(stop, rng.randint(1, 12))
        return spells

    def _public_spell(self, citizen: Citizen, year: int, end: str) -> Spell:
        ward = citizen.thuong_tru.ma_phuong_xa
        _, _, unit = locate(ward)
        start = _month(max(1995, year + self._rng.randint(21, 30)), self._rng.randint(1, 12))
        start = min(start, end or LAST_CONTRIBUTION_MONTH)
        base = self._rng.choice((5_000_000, 6_500_000, 8_000_000, 10_000_000))
        return Spell(start, end, f"HC{ward}", f"Ủy ban nhân dân {unit.name}",
                     _base_at(base, start), "BB")  # fmt: skip

    def _voluntary_spell(self, year: int, end: str) -> Spell:
        start = _month(max(2010, year + 25), self._rng.randint(1, 12))
        start = min(start, end or LAST_CONTRIBUTION_MONTH)
        income = self._rng.choice((1_500_000, 2_000_000, 3_000_000, 5_000_000))
        return Spell(start, end, "", "Tham gia BHXH tự nguyện", income, "TN")


def _base_at(base_2025: int, month: str) -> int:
    """A 2025 salary base brought back to the year a spell starts (6 % a year)."""
    years = 2025 - int(month[:4])
    return int(round(base_2025 / 1.06**years, -3))


def salary_in(spell: Spell, month: str) -> int:
    """The salary base of ``spell`` in ``month``: +6 % each January after the start."""
    if spell.loai_dong == "TN":
        return spell.muc_luong
    years = int(month[:4]) - int(spell.tu_thang[:4])
    return int(round(spell.muc_luong * 1.06**years, -3))


#: Contribution rates: employer 21.5 % + employee 10.5 % when compulsory,
#: 22 % of the declared income when voluntary.
RATES = {"BB": 0.32, "TN": 0.22}
