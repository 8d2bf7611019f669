"""The civil-status register's wire format: snake_case Vietnamese, dates as dd/MM/yyyy.

Requests: `{"so_giay_khai_sinh", "ho_ten", "ngay_sinh"}`. Answers: the envelope
`{"ma_ket_qua", "thong_diep", "du_lieu"}`; a record names the registered person
(`nguoi_duoc_khai_sinh`), the parents (`cha`, `me`, null when not registered),
the office (`co_quan_dang_ky`, `noi_dang_ky`), `so`, `quyen_so`, `ngay_dang_ky`.
Everything unexpected in an answer is a `CentralProtocolError`, never a crash.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson

from adapters.sdk import CentralProtocolError
from schemas.civil_status import BirthRegistration, Child, Parent, Place, Sex

OK, NOT_FOUND, INVALID, UNAUTHORISED, REPLAYED, INTERNAL = "0", "1", "2", "3", "4", "9"
SEXES = {"Nam": Sex.MALE, "Nữ": Sex.FEMALE}


@dataclass(frozen=True, slots=True)
class Envelope:
    code: str
    data: Any


def parse_envelope(body: bytes) -> Envelope:
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise CentralProtocolError("the civil-status register's answer is not JSON") from exc
    if not isinstance(parsed, dict) or not isinstance(parsed.get("ma_ket_qua"), str):
        raise CentralProtocolError("the civil-status register's answer is not its envelope")
    return Envelope(parsed["ma_ket_qua"], parsed.get("du_lieu"))


def request(certificate_number: str, full_name: str, born: date) -> dict[str, str]:
    return {
        "so_giay_khai_sinh": certificate_number,
        "ho_ten": full_name,
        "ngay_sinh": born.strftime("%d/%m/%Y"),
    }


def _day(value: Any) -> date:
    try:
        return datetime.strptime(str(value), "%d/%m/%Y").date()
    except ValueError as exc:
        raise CentralProtocolError("a date in the register's answer is not dd/MM/yyyy") from exc


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _place(value: Any) -> Place | None:
    if not isinstance(value, dict):
        return None
    return Place(
        detail=_text(value.get("chi_tiet")),
        province_code=_text(value.get("ma_tinh")),
        district_code=_text(value.get("ma_huyen")),
        ward_code=_text(value.get("ma_xa")),
    )


def _parent(value: Any) -> Parent | None:
    if value is None:
        return None
    if not isinstance(value, dict) or not _text(value.get("ho_ten")):
        raise CentralProtocolError("a parent in the register's answer has no name")
    year = value.get("nam_sinh")
    return Parent(
        full_name=value["ho_ten"],
        birth_year=int(year) if isinstance(year, str) and year.isdigit() else None,
        personal_id=_text(value.get("so_dinh_danh")),
        ethnicity=_text(value.get("dan_toc")),
        nationality=_text(value.get("quoc_tich")),
    )


def registration(data: Any) -> BirthRegistration:
    """The local record from the register's `du_lieu`."""
    if not isinstance(data, dict) or not isinstance(data.get("nguoi_duoc_khai_sinh"), dict):
        raise CentralProtocolError("the register's answer holds no birth registration")
    person = data["nguoi_duoc_khai_sinh"]
    office = _place(data.get("noi_dang_ky"))
    if office is None or not _text(data.get("so")) or not _text(person.get("ho_ten")):
        raise CentralProtocolError("the register's birth registration is incomplete")
    return BirthRegistration(
        certificate_number=data["so"],
        book_number=_text(data.get("quyen_so")) or "",
        registered_on=_day(data.get("ngay_dang_ky")),
        registration_authority=_text(data.get("co_quan_dang_ky")) or "",
        registration_place=office,
        child=Child(
            personal_id=_text(person.get("so_dinh_danh")),
            full_name=person["ho_ten"],
            family_name=_text(person.get("ho")),
            middle_name=_text(person.get("chu_dem")),
            given_name=_text(person.get("ten")),
            date_of_birth=_day(person.get("ngay_sinh")),
            sex=SEXES.get(person.get("gioi_tinh", "")),
            ethnicity=_text(person.get("dan_toc")),
            nationality=_text(person.get("quoc_tich")),
            hometown=_place(person.get("que_quan")),
        ),
        father=_parent(data.get("cha")),
        mother=_parent(data.get("me")),
    )
