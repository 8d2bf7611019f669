"""The identifier rules of DOMAIN.md, as the generator applies them."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mocks.identifiers import (
    century_digit,
    is_card_code,
    is_personal_id,
    is_tax_code,
    make_card_code,
    make_personal_id,
    normalise_tax_code,
    personal_id_matches,
    tax_check_digit,
)


def _check_digit_by_hand(nine: str) -> int | None:
    weights = (31, 29, 23, 19, 17, 13, 7, 5, 3)
    digit = 10 - sum(w * int(d) for w, d in zip(weights, nine, strict=True)) % 11
    return None if digit == 10 else digit


@pytest.mark.parametrize(
    ("year", "gender", "expected"),
    [(1985, 1, 0), (1985, 2, 1), (2001, 1, 2), (2001, 2, 3), (2100, 1, 4), (2100, 2, 5)],
)
def test_century_digit_encodes_century_and_sex(year: int, gender: int, expected: int) -> None:
    assert century_digit(year, gender) == expected


def test_century_digit_refuses_years_outside_the_scheme() -> None:
    with pytest.raises(ValueError, match="century"):
        century_digit(1899, 1)


@given(
    province=st.sampled_from(["001", "031", "079"]),
    birth=st.dates(dt.date(1900, 1, 1), dt.date(2099, 12, 31)),
    gender=st.sampled_from([1, 2]),
    serial=st.integers(0, 999_999),
)
def test_a_made_personal_id_agrees_with_its_birth_date_and_sex(
    province: str, birth: dt.date, gender: int, serial: int
) -> None:
    personal_id = make_personal_id(province, birth.year, gender, serial)
    assert len(personal_id) == 12
    assert is_personal_id(personal_id)
    assert personal_id_matches(personal_id, birth.strftime("%Y%m%d"), gender)
    assert personal_id_matches(personal_id, str(birth.year))
    assert not personal_id_matches(personal_id, str(birth.year + 1))
    assert not personal_id_matches(personal_id, str(birth.year), 3 - gender)


def test_personal_id_structure_is_checked() -> None:
    assert is_personal_id("031085001234")
    assert not is_personal_id("999085001234")  # no such province
    assert not is_personal_id("031785001234")  # century digit 7 does not exist
    assert not is_personal_id("03108500123")  # 11 digits
    assert not is_personal_id("03108500123a")


@given(st.text("0123456789", min_size=9, max_size=9))
def test_tax_check_digit_follows_the_weighted_sum(nine: str) -> None:
    assert tax_check_digit(nine) == _check_digit_by_hand(nine)


def test_tax_codes_validate_their_check_digit_and_branch_suffix() -> None:
    nine = "020123456"
    digit = tax_check_digit(nine)
    assert digit is not None
    code = f"{nine}{digit}"
    assert is_tax_code(code)
    assert is_tax_code(f"{code}-001")
    assert not is_tax_code(f"{code}-000")
    assert not is_tax_code(f"{nine}{(digit + 1) % 10}")
    assert normalise_tax_code(f"{code}001") == f"{code}-001"
    assert normalise_tax_code(f" {code} ") == code


def test_a_sequence_whose_check_digit_would_be_ten_is_never_valid() -> None:
    nine = next(f"02{n:07d}" for n in range(10_000) if _check_digit_by_hand(f"02{n:07d}") is None)
    assert tax_check_digit(nine) is None
    assert not any(is_tax_code(f"{nine}{d}") for d in range(10))


def test_health_card_codes_have_group_level_province_and_insurance_code() -> None:
    card = make_card_code("DN", 4, "31", "3112345678")
    assert card == "DN4313112345678"
    assert len(card) == 15
    assert is_card_code(card)
    assert not is_card_code("DN6313112345678")  # benefit levels are 1..5
    assert not is_card_code("ZZ4313112345678")  # unknown group
    assert not is_card_code("DN431311234567")  # 14 characters
