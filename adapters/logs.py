"""Logging for every LGSP process: structlog, one line per event, personal data masked.

JSON lines when not on a terminal (for collectors), colourful key/values on
one. The masking processor runs last before rendering, so no event, whatever
its origin, reaches the output with a personal identifier in clear.
"""

from __future__ import annotations

import logging
import re
import sys
import unicodedata
from collections.abc import MutableMapping
from typing import Any, TextIO

import orjson
import structlog

# Keys whose values are personal data whatever they look like.
PERSONAL_KEYS = frozenset(
    {
        "full_name",
        "family_name",
        "middle_name",
        "given_name",
        "name",
        "ho",
        "chu_dem",
        "ten",
        "father",
        "mother",
        "spouse",
        "household_head",
        "birth_year",
        "ngay_sinh",
        "ngaysinh",
        "legacy_id_number",
        "so_cmnd",
        "ma_so_bhxh",
        "masobhxh",
        "permanent_address",
        "current_address",
        "hometown",
        "ethnicity",
        "religion",
        "blood_group",
        "subject",
        "cookie",
        "secret_hash",
        "ho_ten",
        "hoten",
        "ho_va_ten",
        "date_of_birth",
        "dob",
        "address",
        "personal_id",
        "so_dinh_danh",
        "social_insurance_code",
        "tax_code",
        "health_card_code",
        "phone",
        "email",
        "authorization",
        "token",
        "access_token",
        "client_secret",
        "password",
        "secret",
    }
)
# Keys that are ours and never personal, left untouched for speed and readability.
SAFE_KEYS = frozenset(
    {
        "event",
        "level",
        "timestamp",
        "logger",
        "adapter",
        "operation",
        "status",
        "duration_ms",
        "method",
        # not "path": a client may put an identifier in a URL, so paths are masked too
        "attempt",
        "wait_ms",
        "queue",
    }
)
_PATTERNS = (
    # 9 (legacy ID card) to 13 digits (tax code branch without dash): IDs, codes, phones.
    re.compile(r"(?<![\w.:-])\d{9,13}(?:-\d{3})?(?![\w])"),
    # Health-insurance card codes: 2 letters, benefit level, province, 10 digits.
    re.compile(r"\b[A-Z]{2}\d{13}\b"),
    # Bearer tokens and anything JWT-shaped.
    re.compile(r"(?i)bearer\s+[\w.~+/=-]+"),
    re.compile(r"\beyJ[\w-]+\.[\w-]+\.[\w-]*"),
    # Dates (of birth, in the forms our systems write them): ISO, dd/MM/yyyy, yyyyMMdd.
    re.compile(r"\b(?:1[89]|20)\d\d-[01]\d-[0-3]\d\b(?!T\d)"),
    re.compile(r"\b[0-3]?\d/[01]?\d/(?:1[89]|20)\d\d\b"),
    re.compile(r"(?<![\w.:-])(?:1[89]|20)\d\d[01]\d[0-3]\d(?![\w])"),
)
# Vietnamese names: a common family name followed by one to four capitalised words, with or
# without diacritics ("Nguyễn Văn An", "Tran Thi Thu"). One compiled pattern, checked last.
_SURNAMES = (
    "Nguyễn Trần Lê Phạm Hoàng Huỳnh Phan Vũ Võ Đặng Bùi Đỗ Hồ Ngô Dương Lý Đào Đinh Lương "
    "Mai Trịnh Tô Cao Lâm Hà Tạ Vương Nghiêm Quách Trương Châu Thái Kiều Văn Doãn Lưu Triệu"
)
_UPPER = "".join(c for c in map(chr, [*range(0x41, 0x250), *range(0x1E00, 0x1F00)]) if c.isupper())


def _ascii(word: str) -> str:
    return unicodedata.normalize("NFD", word).replace("Đ", "D").encode("ascii", "ignore").decode()


_NAME = re.compile(
    r"\b(?:"
    + "|".join(sorted({w for s in _SURNAMES.split() for w in (s, _ascii(s))}, key=len)[::-1])
    + rf")(?:\s+[{_UPPER}][^\W\d_]*){{1,4}}"
)
MASK = "***"

# Shaped like a personal identifier anywhere in a value: a run of 9 or more digits (legacy ID
# card 9, social-insurance code and tax code 10, personal ID 12, tax code of a branch, the
# digits of a health-card code) or a health-card code. Stricter than the masking patterns
# (no word boundaries): it decides whether a client-supplied request id may be used at all.
_IDENTIFIER_SHAPE = re.compile(r"\d{9,}|[A-Za-z]{2}\d{13}")
# The gateway's own request ids (gateway/ids.py): 32 lowercase hex characters.
_GENERATED_ID = re.compile(r"[0-9a-f]{32}")
# Keys holding request ids: never masked (they join log lines), unless a value is not one of
# ours and carries an identifier (a message published by something other than the gateway).
ID_KEYS = frozenset({"request_id", "correlation_id", "message_id"})


def looks_personal(value: str) -> bool:
    """Whether `value` carries something shaped like a personal identifier."""
    return _IDENTIFIER_SHAPE.search(value) is not None


def _mask_id(value: Any) -> Any:
    if isinstance(value, str) and not _GENERATED_ID.fullmatch(value) and looks_personal(value):
        return MASK
    return value


def mask_text(text: str) -> str:
    for pattern in _PATTERNS:
        text = pattern.sub(MASK, text)
    return _NAME.sub(MASK, text)


def _mask_value(value: Any) -> Any:
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, dict):
        return {
            k: MASK if str(k).lower() in PERSONAL_KEYS else _mask_value(v) for k, v in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_mask_value(v) for v in value]
    return value


def mask_personal_data(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: mask personal data by key and by shape, everywhere in the event."""
    for key, value in event_dict.items():
        if key in ID_KEYS:
            event_dict[key] = _mask_id(value)
            continue
        if key in SAFE_KEYS:
            continue
        if key.lower() in PERSONAL_KEYS:
            event_dict[key] = MASK
        elif isinstance(value, (str, dict, list, tuple)):
            event_dict[key] = _mask_value(value)
    return event_dict


def configure_logging(level: str = "info", fmt: str = "auto", stream: TextIO | None = None) -> None:
    out = stream or sys.stderr
    console = fmt == "console" or (fmt == "auto" and out.isatty())
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=out.isatty())
        if console
        else structlog.processors.JSONRenderer(serializer=lambda o, **_: orjson.dumps(o).decode())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            mask_personal_data,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=True,
    )
