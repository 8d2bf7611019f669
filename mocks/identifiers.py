"""Vietnamese identifiers: how the generator makes them and how tests check them.

The formats are the ones in DOMAIN.md. Only the tax code has a real check
digit; the others are checked for structure (and, for the personal ID, for
agreement with the date of birth).
"""

from __future__ import annotations

import re

#: Province codes of birth registration that the mocks use in personal IDs
#: (001 Hà Nội, 031 Hải Phòng, 079 TP Hồ Chí Minh) with the rest of the real
#: list, so that validation accepts any real province.
PERSONAL_ID_PROVINCES = frozenset(
    f"{code:03d}"
    for code in (
        1, 2, 4, 6, 8, 10, 11, 12, 14, 15, 17, 19, 20, 22, 24, 25, 26, 27, 30, 31,
        33, 34, 35, 36, 37, 38, 40, 42, 44, 45, 46, 48, 49, 51, 52, 54, 56, 58,
        60, 62, 64, 66, 67, 68, 70, 72, 74, 75, 77, 79, 80, 82, 83, 84, 86, 87,
        89, 91, 92, 93, 94, 95, 96,
    )
)  # fmt: skip

#: Weights of the tax-code check digit over digits 1..9 (DOMAIN.md).
TAX_CODE_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)

#: Beneficiary groups that open a health-insurance card code.
CARD_GROUPS = frozenset({"DN", "HC", "HT", "TE", "HS", "HN", "CN", "GD", "XK", "NO"})

_PERSONAL_ID = re.compile(r"^(\d{3})(\d)(\d{2})(\d{6})$")
_TAX_CODE = re.compile(r"^(\d{10})(?:-(\d{3}))?$")
_SOCIAL_INSURANCE = re.compile(r"^\d{10}$")
_CARD = re.compile(r"^([A-Z]{2})([1-5])(\d{2})(\d{10})$")


def century_digit(year: int, gender: int) -> int:
    """The G digit of a personal ID: century of birth and sex (1 male, 2 female)."""
    century = (year // 100) - 19
    if not 0 <= century <= 2:
        msg = f"no personal-ID century digit for year {year}"
        raise ValueError(msg)
    return century * 2 + (0 if gender == 1 else 1)


def make_personal_id(province: str, year: int, gender: int, serial: int) -> str:
    """Build ``PPP G YY NNNNNN`` from its parts."""
    return f"{province}{century_digit(year, gender)}{year % 100:02d}{serial:06d}"


def personal_id_matches(personal_id: str, birth: str, gender: int | None = None) -> bool:
    """Whether a personal ID agrees with a birth date (``yyyyMMdd`` or ``yyyy``)
    and, when given, a sex (1 male, 2 female)."""
    match = _PERSONAL_ID.match(personal_id)
    if match is None or match.group(1) not in PERSONAL_ID_PROVINCES:
        return False
    g = int(match.group(2))
    year = int(birth[:4])
    if (g // 2) + 19 != year // 100 or int(match.group(3)) != year % 100:
        return False
    return gender is None or (g % 2) == (0 if gender == 1 else 1)


def is_personal_id(value: str) -> bool:
    """Structure only: 12 digits, a real province and a plausible century digit."""
    match = _PERSONAL_ID.match(value)
    return (
        match is not None and match.group(1) in PERSONAL_ID_PROVINCES and int(match.group(2)) <= 5
    )


def tax_check_digit(first_nine: str) -> int | None:
    """The tenth digit of a tax code, or None when the sequence cannot be used.

    ``10 - (Σ wᵢ·dᵢ mod 11)``; a result of 10 has no digit, so such a
    sequence is never issued. A remainder of 10 gives 0.
    """
    total = sum(w * int(d) for w, d in zip(TAX_CODE_WEIGHTS, first_nine, strict=True))
    digit = 10 - total % 11
    if digit == 10:
        return None
    return digit


def is_tax_code(value: str) -> bool:
    """10 digits with a correct check digit, optionally ``-NNN`` (001..999)."""
    match = _TAX_CODE.match(value)
    if match is None:
        return False
    base, branch = match.group(1), match.group(2)
    if branch is not None and branch == "000":
        return False
    return tax_check_digit(base[:9]) == int(base[9])


def normalise_tax_code(value: str) -> str:
    """Accept the 13-digit form without a hyphen and return ``XXXXXXXXXX-NNN``."""
    value = value.strip()
    if len(value) == 13 and value.isdigit():
        return f"{value[:10]}-{value[10:]}"
    return value


def is_social_insurance_code(value: str) -> bool:
    """10 digits (there is no public check digit)."""
    return _SOCIAL_INSURANCE.match(value) is not None


def make_card_code(group: str, level: int, province: str, social_insurance_code: str) -> str:
    """A 15-character health-insurance card code."""
    return f"{group}{level}{province}{social_insurance_code}"


def is_card_code(value: str) -> bool:
    """2-letter group, benefit level 1-5, 2-digit province, 10-digit BHXH code."""
    match = _CARD.match(value)
    return match is not None and match.group(1) in CARD_GROUPS


def card_social_insurance_code(card: str) -> str:
    """The social-insurance code a card code ends with."""
    return card[5:]
