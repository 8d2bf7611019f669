"""Vietnamese identifiers, validated for what they are (DOMAIN.md).

Each validator raises `ValueError` with a message that describes the rule and
never repeats the value: the message ends up in a 422 problem document, and
the value is personal data.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field

# Statistics-office province codes as used in the first three digits of a personal ID.
PROVINCE_CODES = frozenset(
    f"{n:03d}"
    for n in (
        1,
        2,
        4,
        6,
        8,
        10,
        11,
        12,
        14,
        15,
        17,
        19,
        20,
        22,
        24,
        25,
        26,
        27,
        30,
        31,
        33,
        34,
        35,
        36,
        37,
        38,
        40,
        42,
        44,
        45,
        46,
        48,
        49,
        51,
        52,
        54,
        56,
        58,
        60,
        62,
        64,
        66,
        67,
        68,
        70,
        72,
        74,
        75,
        77,
        79,
        80,
        82,
        83,
        84,
        86,
        87,
        89,
        91,
        92,
        93,
        94,
        95,
        96,
    )
)
TAX_WEIGHTS = (31, 29, 23, 19, 17, 13, 7, 5, 3)
HEALTH_CARD_GROUPS = frozenset(
    {
        "DN",
        "HX",
        "CH",
        "NN",
        "TK",
        "HC",
        "XK",
        "CA",
        "HT",
        "TB",
        "MS",
        "XB",
        "XN",
        "TN",
        "CC",
        "CK",
        "CB",
        "KC",
        "HD",
        "TE",
        "BT",
        "HN",
        "DT",
        "DK",
        "XD",
        "TS",
        "TC",
        "TQ",
        "TA",
        "TY",
        "HG",
        "LS",
        "PV",
        "CN",
        "HS",
        "SV",
        "GB",
        "GD",
        "NO",
        "QN",
        "CY",
    }
)

_PERSONAL_ID = re.compile(r"\d{12}")
_TAX_CODE = re.compile(r"(\d{10})(?:-(\d{3}))?")
_SI_CODE = re.compile(r"\d{10}")
_HEALTH_CARD = re.compile(r"([A-Z]{2})([1-5])(\d{2})(\d{10})")


def century_digit(born: date, female: bool) -> int:
    """The G digit of a personal ID: (century - 19) * 2, plus one for women."""
    return (born.year // 100 - 19) * 2 + (1 if female else 0)


def check_personal_id(value: str) -> str:
    if not _PERSONAL_ID.fullmatch(value):
        raise ValueError("a personal ID is 12 digits")
    if value[:3] not in PROVINCE_CODES:
        raise ValueError("the first three digits must be a province code")
    if int(value[3]) > 5:
        raise ValueError("the fourth digit (century and sex) must be 0 to 5")
    return value


def personal_id_matches_birth(value: str, born: date) -> bool:
    """The century/sex digit and the two year digits agree with the date of birth."""
    g, yy = int(value[3]), value[4:6]
    return g // 2 == born.year // 100 - 19 and yy == f"{born.year % 100:02d}"


def tax_check_digit(first_nine: str) -> int | None:
    """The tenth digit of a tax code, or None when the nine digits admit none."""
    remainder = 10 - sum(w * int(d) for w, d in zip(TAX_WEIGHTS, first_nine, strict=True)) % 11
    return None if remainder == 10 else remainder


def check_tax_code(value: str) -> str:
    match = _TAX_CODE.fullmatch(value)
    if not match:
        raise ValueError("a tax code is 10 digits, or 13 as NNNNNNNNNN-NNN for a dependent unit")
    main, branch = match.groups()
    if tax_check_digit(main[:9]) != int(main[9]):
        raise ValueError("the tax code's check digit is wrong")
    if branch == "000":
        raise ValueError("a branch suffix is 001 to 999")
    return value


def check_social_insurance_code(value: str) -> str:
    if not _SI_CODE.fullmatch(value):
        raise ValueError("a social insurance code is 10 digits")
    return value


def check_health_card(value: str) -> str:
    match = _HEALTH_CARD.fullmatch(value)
    if not match:
        raise ValueError(
            "a health insurance card code is 2 letters, a benefit level 1-5, "
            "a 2-digit province code and the 10-digit social insurance code"
        )
    if match.group(1) not in HEALTH_CARD_GROUPS:
        raise ValueError("unknown beneficiary group in the health insurance card code")
    return value


def nfc(value: object) -> object:
    """Normalise text to NFC and trim it: the same name typed on two keyboards compares equal."""
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value).strip()
    return value


def _documented(pattern: str, description: str) -> Any:
    """The shape in the JSON schema (OpenAPI, generated clients); the validators check the rest."""
    return Field(json_schema_extra={"pattern": pattern, "description": description})


PersonalId = Annotated[
    str,
    _documented(r"^\d{12}$", "12 digits: province code, century and sex, birth year, serial"),
    AfterValidator(check_personal_id),
]
TaxCode = Annotated[
    str,
    _documented(r"^\d{10}(-\d{3})?$", "10 digits with a check digit, -NNN for a branch"),
    AfterValidator(check_tax_code),
]
SocialInsuranceCode = Annotated[
    str, _documented(r"^\d{10}$", "10 digits"), AfterValidator(check_social_insurance_code)
]
HealthCardCode = Annotated[
    str,
    _documented(
        r"^[A-Z]{2}[1-5]\d{2}\d{10}$",
        "beneficiary group, benefit level, province code, social insurance code",
    ),
    BeforeValidator(nfc),
    AfterValidator(check_health_card),
]
Text = Annotated[str, BeforeValidator(nfc)]
