"""The population database's wire format: SOAP 1.1 envelopes in, citizen records out.

Parsing is safe (no DTDs, so no entities and no external references) and
tolerant of what the service leaves out; everything it maps becomes the local
contract of schemas/population.py. Vietnamese text is normalised to NFC.
"""

from __future__ import annotations

import unicodedata
from datetime import date
from typing import Any
from xml.etree import ElementTree
from xml.etree.ElementTree import Element

from adapters.errors import CentralProtocolError
from schemas.population import (
    Address,
    BloodGroup,
    Citizen,
    MaritalStatus,
    MismatchedField,
    Relative,
    Sex,
)

SOAP_ENV = "http://schemas.xmlsoap.org/soap/envelope/"
NS = "urn:mock:csdl-dancu:v1"
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;"})

BLOOD_GROUPS = {"00": BloodGroup.UNKNOWN, "01": BloodGroup.A, "02": BloodGroup.B,
                "03": BloodGroup.AB, "04": BloodGroup.O}  # fmt: skip
MARITAL = {"1": MaritalStatus.SINGLE, "2": MaritalStatus.MARRIED,
           "3": MaritalStatus.DIVORCED_OR_WIDOWED}  # fmt: skip
SEXES = {"1": Sex.MALE, "2": Sex.FEMALE}
MISMATCH_FIELDS: dict[str, MismatchedField] = {
    "HoVaTen": "full_name",
    "NgayThangNamSinh": "date_of_birth",
}


def envelope(operation: str, fields: dict[str, Any]) -> bytes:
    """A request envelope; nested dicts become nested elements, None is left out."""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}" '
        f'xmlns:dc="{NS}"><soap:Body><dc:{operation}>{_elements(fields)}</dc:{operation}>'
        "</soap:Body></soap:Envelope>"
    ).encode()


def _elements(fields: dict[str, Any]) -> str:
    out = []
    for name, value in fields.items():
        if value is None:
            continue
        inner = _elements(value) if isinstance(value, dict) else str(value).translate(_ESCAPES)
        out.append(f"<dc:{name}>{inner}</dc:{name}>")
    return "".join(out)


def parse_body(raw: bytes) -> Element:
    """The one element inside soap:Body (an answer or a soap:Fault).

    A document type declaration is refused before parsing: without a DTD there is no
    entity to expand and nothing external to fetch, and the C parser (expat, with its
    own amplification limits) is several times faster than a defused pure-Python one.
    NUL bytes are refused too, so that a UTF-16 document cannot hide a DOCTYPE.
    """
    raw = raw.removeprefix(b"\xef\xbb\xbf")
    if b"<!DOCTYPE" in raw or b"<!ENTITY" in raw or b"\x00" in raw:
        raise CentralProtocolError("the population service's answer carries a DTD or is not UTF-8")
    try:
        root = ElementTree.fromstring(raw)  # noqa: S314 (DTDs refused above: nothing to expand)
    except (ElementTree.ParseError, ValueError) as exc:
        raise CentralProtocolError(
            f"unparseable XML from the population service ({type(exc).__name__})"
        ) from exc
    body = root.find(f"{{{SOAP_ENV}}}Body")
    if root.tag != f"{{{SOAP_ENV}}}Envelope" or body is None or len(body) != 1:
        raise CentralProtocolError("the population service's answer is not a SOAP 1.1 envelope")
    answer: Element = body[0]
    return answer


def local(tag: str) -> str:
    return tag.rpartition("}")[2]


def child(element: Element | None, name: str) -> Element | None:
    if element is None:
        return None
    for item in element:
        if local(item.tag) == name:
            return item
    return None


def text(element: Element | None, *path: str) -> str | None:
    for name in path:
        element = child(element, name)
    if element is None or element.text is None:
        return None
    value = unicodedata.normalize("NFC", element.text.strip())
    return value or None


def fault_code(fault: Element) -> tuple[str, str, str]:
    """(SOAP faultcode local part, platform code, message) of a soap:Fault."""
    code = (text(fault, "faultcode") or "").rpartition(":")[2]
    detail = child(child(fault, "detail"), "LoiNghiepVu")
    return code, text(detail, "MaLoi") or "", text(fault, "faultstring") or ""


def _address(element: Element | None) -> Address | None:
    if element is None:
        return None
    return Address(
        detail=text(element, "ChiTiet"),
        province_code=text(element, "MaTinhThanh"),
        district_code=text(element, "MaQuanHuyen"),
        ward_code=text(element, "MaPhuongXa"),
        country=text(element, "QuocGia"),
    )


def _relative(element: Element | None) -> Relative | None:
    if element is None:
        return None
    return Relative(full_name=text(element, "HoVaTen"), personal_id=text(element, "SoDinhDanh"))


def _birth(element: Element | None) -> tuple[date | None, int | None]:
    full = text(element, "NgayThangNam")
    if full:
        if len(full) != 8 or not (full.isascii() and full.isdigit()):
            raise ValueError(f"not a YYYYMMDD date: {len(full)} characters")
        born = date(int(full[:4]), int(full[4:6]), int(full[6:]))  # raises on a day that isn't
        return born, born.year
    year = text(element, "Nam")
    return None, int(year) if year and year.isdigit() else None


def citizen(record: Element) -> Citizen:
    """`<dc:CongDan>` → the local citizen record."""
    fields = {local(item.tag): item for item in record}  # one pass, not one scan per field
    name = fields.get("HoVaTen")
    parts = [text(name, p) for p in ("Ho", "ChuDem", "Ten")]
    try:
        born, year = _birth(fields.get("NgayThangNamSinh"))
    except ValueError as exc:
        raise CentralProtocolError("invalid date of birth in the population record") from exc
    personal_id = text(fields.get("SoDinhDanh"))
    if personal_id is None:
        raise CentralProtocolError("population record without SoDinhDanh")
    return Citizen(
        personal_id=personal_id,
        legacy_id_number=text(fields.get("SoCMND")),
        full_name=" ".join(p for p in parts if p),
        family_name=parts[0],
        middle_name=parts[1],
        given_name=parts[2],
        date_of_birth=born,
        birth_year=year,
        sex=SEXES.get(text(fields.get("GioiTinh")) or ""),
        nationality=text(fields.get("QuocTich")),
        ethnicity=text(fields.get("DanToc"), "MaDanToc"),
        religion=text(fields.get("TonGiao"), "MaTonGiao"),
        blood_group=BLOOD_GROUPS.get(text(fields.get("NhomMau")) or ""),
        marital_status=MARITAL.get(
            text(fields.get("TinhTrangHonNhan")) or "", MaritalStatus.UNKNOWN
        ),
        hometown=_address(fields.get("QueQuan")),
        birth_registration_place=_address(fields.get("NoiDangKyKhaiSinh")),
        permanent_address=_address(fields.get("ThuongTru")),
        current_address=_address(fields.get("NoiOHienTai")),
        father=_relative(fields.get("Cha")),
        mother=_relative(fields.get("Me")),
        spouse=_relative(fields.get("VoChong")),
        household_head=_relative(fields.get("ChuHo")),
    )


def mismatched(answer: Element) -> list[MismatchedField]:
    fields = child(answer, "TruongKhongKhop")
    names = [text(item, *()) for item in (fields if fields is not None else [])]
    return [MISMATCH_FIELDS[n] for n in names if n in MISMATCH_FIELDS]
