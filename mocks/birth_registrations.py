"""Birth registrations derived from the population data set, so both systems agree.

The civil-status database and the population database describe the same
people: every citizen whose full date of birth is known has a birth
registration here, at the office the population record names
(`noi_dang_ky_khai_sinh`), with the same personal ID, name, sex, ethnicity,
nationality, hometown and parents. What the population data set does not hold
is derived from the personal ID by a fixed hash, so it is the same on every
run: the certificate number (`<number>/<year>`), the register book, and the
registration date (5 to 59 days after the birth, never after the data's date).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

from mocks.records import DATA_AS_OF, Address, Citizen, Relation

#: Certificates a register book holds before the office opens the next one.
BOOK_SIZE = 500
_AS_OF = dt.datetime.strptime(DATA_AS_OF, "%Y%m%d").date()


@dataclass(frozen=True, slots=True)
class Certificate:
    number: str  # "<so>/<year>"
    book: str  # "<quyen so>/<year>"
    registered_on: dt.date


def _draw(personal_id: str) -> int:
    return int(hashlib.sha256(f"khai-sinh:{personal_id}".encode()).hexdigest()[:12], 16)


def certificate_of(citizen: Citizen) -> Certificate | None:
    """The birth certificate of a citizen; None when only the birth year is known."""
    return certificate_for(citizen.so_dinh_danh, citizen.ngay_sinh)


def certificate_for(so_dinh_danh: str, ngay_sinh: str) -> Certificate | None:
    """The birth certificate of the person with this id and date of birth (`yyyyMMdd`)."""
    if len(ngay_sinh) != 8:
        return None
    born = dt.datetime.strptime(ngay_sinh, "%Y%m%d").date()
    draw = _draw(so_dinh_danh)
    registered = min(born + dt.timedelta(days=5 + draw % 55), max(born, _AS_OF))
    number = 1 + (draw >> 8) % 9000
    book = 1 + (number - 1) // BOOK_SIZE
    year = registered.year
    return Certificate(f"{number}/{year}", f"{book:02d}/{year}", registered)


def index(citizens: Iterable[Citizen]) -> dict[str, list[str]]:
    """Certificate number -> the personal IDs registered under it (numbers repeat across
    offices, as real ones do: the name and the date of birth tell them apart)."""
    found: dict[str, list[str]] = {}
    for citizen in citizens:
        certificate = certificate_of(citizen)
        if certificate is not None:
            found.setdefault(certificate.number, []).append(citizen.so_dinh_danh)
    return found


def _place(address: Address) -> dict[str, str | None]:
    return {
        "chi_tiet": address.chi_tiet or None,
        "ma_tinh": address.ma_tinh_thanh,
        "ma_huyen": address.ma_quan_huyen,
        "ma_xa": address.ma_phuong_xa,
    }


def _day(value: dt.date) -> str:
    return value.strftime("%d/%m/%Y")


def parent_record(relation: Relation | None, known: Citizen | None) -> dict[str, object] | None:
    """A parent as the register names them; birth year and nationality from their own record
    when they are in the population database."""
    if relation is None:
        return None
    return {
        "ho_ten": relation.ho_va_ten,
        "nam_sinh": known.ngay_sinh[:4] if known else None,
        "so_dinh_danh": relation.so_dinh_danh,
        "dan_toc": known.dan_toc if known else None,
        "quoc_tich": known.quoc_tich if known else None,
    }


def registration_record(
    citizen: Citizen, certificate: Certificate, father: Citizen | None, mother: Citizen | None
) -> dict[str, object]:
    """The record in the register's own wire vocabulary (snake_case Vietnamese, dd/MM/yyyy)."""
    born = dt.datetime.strptime(citizen.ngay_sinh, "%Y%m%d").date()
    office = citizen.noi_dang_ky_khai_sinh
    return {
        "so": certificate.number,
        "quyen_so": certificate.book,
        "ngay_dang_ky": _day(certificate.registered_on),
        "co_quan_dang_ky": office.chi_tiet,
        "noi_dang_ky": _place(office),
        "nguoi_duoc_khai_sinh": {
            "so_dinh_danh": citizen.so_dinh_danh,
            "ho": citizen.ho,
            "chu_dem": citizen.chu_dem,
            "ten": citizen.ten,
            "ho_ten": citizen.ho_va_ten,
            "ngay_sinh": _day(born),
            "gioi_tinh": "Nam" if citizen.gioi_tinh == 1 else "Nữ",
            "dan_toc": citizen.dan_toc,
            "quoc_tich": citizen.quoc_tich,
            "que_quan": _place(citizen.que_quan),
        },
        "cha": parent_record(citizen.cha, father),
        "me": parent_record(citizen.me, mother),
    }
