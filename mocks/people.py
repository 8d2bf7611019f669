"""Synthetic citizens, generated household by household.

Households make the references come out right by construction: children
carry their father's surname and were born when their mother was 20 to 38,
spouses name each other, everyone names the same household head, and a
widowed grandparent living with the family is the head's father or mother
in the database. Relatives who do not live in Hải Phòng (the parents of the
older generation) are named without a personal ID, as real records often are.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass

from mocks.identifiers import make_personal_id
from mocks.names import BLOOD_GROUPS, ETHNIC_GROUPS, RELIGIONS, PersonName, draw_name
from mocks.places import HAI_PHONG, HOME_TOWN_PROVINCES, PERSONAL_ID_PREFIX, PROVINCES
from mocks.records import Address, Citizen, Relation

LAST_BIRTH_YEAR = 2025

# Where births were registered: mostly Hải Phòng, some in the two big cities.
_BIRTH_PROVINCES = (("31", 0.85), ("01", 0.93), ("79", 1.0))
# Old 9-digit ID-card numbers began with a province prefix.
_CMND_PREFIX = {"31": "03", "01": "01", "79": "02"}
# Urban districts hold most of the people.
_HOME_DISTRICTS = tuple(d for d in HAI_PHONG.districts for _ in range(3 if d.streets else 1))


@dataclass(slots=True)
class _Person:
    """A citizen being drafted; relations are filled in once the household is."""

    name: PersonName
    gender: int
    year: int
    birth: str
    personal_id: str
    so_cmnd: str | None
    birth_place: Address
    home_town: Address
    role: str
    status: int
    father: Relation | None = None
    mother: Relation | None = None
    spouse: Relation | None = None

    def relation(self, quan_he: str | None = None) -> Relation:
        return Relation(self.name.full, self.personal_id, quan_he)


class CitizenGenerator:
    """Draws citizens from one random stream; IDs are unique across the run."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._ids: set[str] = set()
        self._cmnds: set[str] = set()

    def generate(self, count: int) -> list[Citizen]:
        citizens: list[Citizen] = []
        household = 0
        while len(citizens) < count:
            household += 1
            citizens.extend(self._household(household, count - len(citizens)))
        return citizens

    # -- households ---------------------------------------------------------

    def _household(self, number: int, room: int) -> list[Citizen]:
        rng = self._rng
        home = self._home_address()
        roll = rng.random()
        if roll < 0.60:
            people = self._family(with_grandparent=rng.random() < 0.15)
        elif roll < 0.72:
            people = self._single_parent()
        else:
            people = [self._single()]
        if len(people) > room:
            # A household is written whole or not at all, so that nobody
            # names a spouse or child who is not in the data set.
            people = [self._single()]
        current = home if rng.random() < 0.9 else self._home_address()
        head = people[0]
        return [self._finish(p, head, number, home, current) for p in people]

    def _family(self, *, with_grandparent: bool) -> list[_Person]:
        rng = self._rng
        husband_year = rng.randint(1948, 1998)
        wife_year = min(husband_year + rng.randint(-2, 6), 2000)
        father = self._person(1, husband_year, "Chủ hộ", status=2)
        mother = self._person(2, wife_year, "Vợ", status=2)
        head, partner = father, mother
        if rng.random() < 0.12:
            # Some households are headed by the wife.
            father.role, mother.role = "Chồng", "Chủ hộ"
            head, partner = mother, father
        father.spouse, mother.spouse = mother.relation(), father.relation()
        people = [head, partner]
        for _ in range(rng.choices((0, 1, 2, 3), (0.12, 0.33, 0.45, 0.10))[0]):
            year = mother.year + rng.randint(20, 38)
            if year > LAST_BIRTH_YEAR:
                continue
            child = self._person(rng.randint(1, 2), year, "Con", status=1,
                                 surname=father.name.ho, home_town=father.home_town)  # fmt: skip
            child.father, child.mother = father.relation(), mother.relation()
            people.append(child)
        if with_grandparent and head.year - 22 >= 1925:
            gender = rng.randint(1, 2)
            elder = self._person(gender, head.year - rng.randint(22, 35),
                                 "Cha" if gender == 1 else "Mẹ", status=3,
                                 surname=head.name.ho if gender == 1 else None,
                                 home_town=head.home_town)  # fmt: skip
            if gender == 1:
                head.father = elder.relation()
            else:
                head.mother = elder.relation()
            people.append(elder)
        return people

    def _single_parent(self) -> list[_Person]:
        rng = self._rng
        gender = 2 if rng.random() < 0.75 else 1
        parent = self._person(gender, rng.randint(1955, 1995), "Chủ hộ", status=3)
        people = [parent]
        mother_year = parent.year if gender == 2 else parent.year + 3
        for _ in range(rng.randint(1, 2)):
            year = mother_year + rng.randint(20, 36)
            if year > LAST_BIRTH_YEAR:
                continue
            child = self._person(rng.randint(1, 2), year, "Con", status=1,
                                 surname=parent.name.ho if gender == 1 else None)  # fmt: skip
            if gender == 1:
                child.father = parent.relation()
            else:
                child.mother = parent.relation()
            people.append(child)
        return people

    def _single(self) -> _Person:
        year = self._rng.randint(1935, 2005)
        status = 3 if year < 1965 and self._rng.random() < 0.6 else 1
        return self._person(self._rng.randint(1, 2), year, "Chủ hộ", status=status)

    # -- people ---------------------------------------------------------------

    def _person(
        self,
        gender: int,
        year: int,
        role: str,
        *,
        status: int,
        surname: str | None = None,
        home_town: Address | None = None,
    ) -> _Person:
        rng = self._rng
        name = draw_name(rng, gender, surname)
        if year < 1960 and rng.random() < 0.05:
            birth = f"{year}"
        else:
            day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
            birth = day.strftime("%Y%m%d")
        roll = rng.random()
        province = next(code for code, edge in _BIRTH_PROVINCES if roll < edge)
        return _Person(
            name=name,
            gender=gender,
            year=year,
            birth=birth,
            personal_id=self._personal_id(province, year, gender),
            so_cmnd=self._cmnd(province) if year <= 2003 and rng.random() < 0.7 else None,
            birth_place=self._registration_office(province),
            home_town=home_town or self._home_town(),
            role=role,
            status=status,
        )

    def _finish(
        self, person: _Person, head: _Person, household: int, home: Address, current: Address
    ) -> Citizen:
        rng = self._rng
        if person.father is None:
            # A parent outside the data set: named, with no personal ID.
            person.father = Relation(draw_name(rng, 1, person.name.ho).full, None)
        if person.mother is None:
            person.mother = Relation(draw_name(rng, 2).full, None)
        # Adult children of the household are single in this data set.
        status = 1 if person.role == "Con" else person.status
        if person.role == "Chủ hộ" and person.spouse is None and status == 2:
            status = 3
        return Citizen(
            so_dinh_danh=person.personal_id,
            so_cmnd=person.so_cmnd,
            ho=person.name.ho,
            chu_dem=person.name.chu_dem,
            ten=person.name.ten,
            ngay_sinh=person.birth,
            gioi_tinh=person.gender,
            quoc_tich="VN",
            dan_toc=ETHNIC_GROUPS.draw(rng),
            ton_giao=RELIGIONS.draw(rng),
            nhom_mau=BLOOD_GROUPS.draw(rng),
            tinh_trang_hon_nhan=status,
            que_quan=person.home_town,
            noi_dang_ky_khai_sinh=person.birth_place,
            thuong_tru=home,
            noi_o_hien_tai=current,
            cha=person.father,
            me=person.mother,
            vo_chong=person.spouse,
            chu_ho=head.relation(person.role),
            ma_ho=household,
        )

    def _personal_id(self, province: str, year: int, gender: int) -> str:
        prefix = PERSONAL_ID_PREFIX[province]
        while True:
            candidate = make_personal_id(prefix, year, gender, self._rng.randrange(1_000_000))
            if candidate not in self._ids:
                self._ids.add(candidate)
                return candidate

    def _cmnd(self, province: str) -> str:
        while True:
            candidate = f"{_CMND_PREFIX[province]}{self._rng.randrange(10_000_000):07d}"
            if candidate not in self._cmnds:
                self._cmnds.add(candidate)
                return candidate

    # -- places ---------------------------------------------------------------

    def _home_address(self) -> Address:
        rng = self._rng
        district = rng.choice(_HOME_DISTRICTS)
        ward = rng.choice(district.wards)
        if ward.urban and district.streets:
            street = rng.choice(district.streets)
            if rng.random() < 0.5:
                detail = f"Số {rng.randint(1, 250)}, ngõ {rng.randint(1, 400)} {street}"
            else:
                detail = f"Số {rng.randint(1, 500)} {street}"
        elif ward.urban:
            detail = f"Tổ dân phố {rng.randint(1, 12)}"
        else:
            detail = f"Thôn {rng.randint(1, 9)}"
        return Address(detail, HAI_PHONG.code, district.code, ward.code)

    def _registration_office(self, province_code: str) -> Address:
        district = self._rng.choice(PROVINCES[province_code].districts)
        ward = self._rng.choice(district.wards)
        return Address(f"Ủy ban nhân dân {ward.name}", province_code, district.code, ward.code)

    def _home_town(self) -> Address:
        rng = self._rng
        province = HAI_PHONG if rng.random() < 0.6 else rng.choice(HOME_TOWN_PROVINCES)
        district = rng.choice(province.districts)
        ward = rng.choice(district.wards)
        return Address("", province.code, district.code, ward.code)
