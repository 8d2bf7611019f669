"""Identifier validators: valid and invalid cases, property-based where the rule allows."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from schemas.identifiers import (
    PROVINCE_CODES,
    HealthCardCode,
    PersonalId,
    SocialInsuranceCode,
    TaxCode,
    century_digit,
    personal_id_matches_birth,
    tax_check_digit,
)

PERSONAL_ID = TypeAdapter(PersonalId)
TAX_CODE = TypeAdapter(TaxCode)
SI_CODE = TypeAdapter(SocialInsuranceCode)
HEALTH_CARD = TypeAdapter(HealthCardCode)


def make_personal_id(province: str, born: date, female: bool, serial: int) -> str:
    return f"{province}{century_digit(born, female)}{born.year % 100:02d}{serial:06d}"


@given(
    st.sampled_from(sorted(PROVINCE_CODES)),
    st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
    st.booleans(),
    st.integers(0, 999_999),
)
def test_well_formed_personal_ids_are_accepted_and_agree_with_birth(
    province: str, born: date, female: bool, serial: int
) -> None:
    value = make_personal_id(province, born, female, serial)
    assert PERSONAL_ID.validate_python(value) == value
    assert personal_id_matches_birth(value, born)


@pytest.mark.parametrize(
    "value", ["03109500123", "0310950012345", "03109500123a", "999095001234", "031695001234", ""]
)
def test_malformed_personal_ids_are_refused_without_echoing_them(value: str) -> None:
    with pytest.raises(ValidationError) as info:
        PERSONAL_ID.validate_python(value)
    assert value not in str(info.value.errors(include_input=False)) or not value


def test_personal_id_must_agree_with_the_birth_year_and_century() -> None:
    value = make_personal_id("031", date(1995, 3, 1), False, 1)
    assert not personal_id_matches_birth(value, date(1996, 3, 1))
    assert not personal_id_matches_birth(value, date(2095, 3, 1))


@given(st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_tax_codes_with_the_right_check_digit_are_accepted(first_nine: str) -> None:
    check = tax_check_digit(first_nine)
    if check is None:  # no valid tenth digit exists for these nine
        for d in range(10):
            with pytest.raises(ValidationError):
                TAX_CODE.validate_python(first_nine + str(d))
        return
    TAX_CODE.validate_python(first_nine + str(check))
    TAX_CODE.validate_python(first_nine + str(check) + "-001")
    wrong = (check + 1) % 10
    with pytest.raises(ValidationError):
        TAX_CODE.validate_python(first_nine + str(wrong))


def test_tax_code_known_value_and_shapes() -> None:
    # 010010000: weights give 10 - (31*0+29*1+...)%11; computed here once by hand.
    nine = "010010000"
    total = sum(w * int(d) for w, d in zip((31, 29, 23, 19, 17, 13, 7, 5, 3), nine, strict=True))
    assert tax_check_digit(nine) == (None if 10 - total % 11 == 10 else 10 - total % 11)
    for bad in ["123", "01001000001", "0100100000-01", "0100100000-000"]:
        with pytest.raises(ValidationError):
            TAX_CODE.validate_python(bad)


def test_social_insurance_and_health_card_codes() -> None:
    assert SI_CODE.validate_python("3112345678") == "3112345678"
    for bad in ["311234567", "31123456789", "31abcdefgh"]:
        with pytest.raises(ValidationError):
            SI_CODE.validate_python(bad)
    assert HEALTH_CARD.validate_python("DN4313112345678") == "DN4313112345678"
    for bad in ["DN431311234567", "ZZ4313112345678", "DN6313112345678", "dn4313112345678"]:
        with pytest.raises(ValidationError):
            HEALTH_CARD.validate_python(bad)
