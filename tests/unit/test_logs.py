"""Personal data is masked in every log event, by key and by shape."""

from __future__ import annotations

import io

import orjson
import structlog

from adapters.logs import MASK, configure_logging, mask_personal_data, mask_text


def test_identifiers_and_tokens_are_masked_in_text() -> None:
    text = (
        "id 031095001234 tax 0201234567-001 card DN4310123456789 "
        "Authorization: Bearer abc.def-ghi token eyJhbGciOi.eyJzdWIi.sig"
    )
    masked = mask_text(text)
    for secret in ("031095001234", "0201234567", "DN4310123456789", "abc.def-ghi", "eyJhbGciOi"):
        assert secret not in masked


def test_request_ids_and_short_numbers_are_kept() -> None:
    assert mask_text("request 5f1c0e9a-1234 took 250 ms") == "request 5f1c0e9a-1234 took 250 ms"


def test_personal_keys_are_masked_whatever_their_value() -> None:
    event = mask_personal_data(
        None, "info", {"event": "x", "full_name": "Nguyễn Văn An", "nested": {"address": "Số 1"}}
    )
    assert event["full_name"] == MASK
    assert event["nested"] == {"address": MASK}


def test_rendered_json_lines_carry_no_identifier() -> None:
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    try:
        structlog.get_logger("t").info("lookup", detail="citizen 031095001234 not found")
    finally:
        structlog.reset_defaults()
    line = orjson.loads(out.getvalue())
    assert "031095001234" not in out.getvalue()
    assert line["event"] == "lookup"
