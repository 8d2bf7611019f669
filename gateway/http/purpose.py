"""The purpose trail: who accesses personal data, under which procedure, for which case.

Operations on personal data require all three headers; they travel on the bus
to the adapter (which passes them to the central system) and into the audit
record. Missing or malformed → 422 naming the header.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web

from adapters.interface import Operation, Purpose
from gateway.problems import ProblemError
from schemas.problems import ProblemType

PURPOSE_HEADERS: dict[str, tuple[re.Pattern[str], str]] = {
    "LGSP-Officer-Id": (re.compile(r"[A-Za-z0-9._:-]{3,64}"), "3 to 64 of A-Z a-z 0-9 . _ : -"),
    # A procedure code of the national catalogue, e.g. 1.001612.
    "LGSP-Procedure-Code": (
        re.compile(r"[0-9]\.[0-9]{6}"),
        "a national procedure code like 1.001612",
    ),
    "LGSP-Case-Id": (re.compile(r"[A-Za-z0-9._:/-]{3,64}"), "3 to 64 of A-Z a-z 0-9 . _ : / -"),
}


def purpose_of(request: web.Request, operation: Operation[Any]) -> Purpose | None:
    """The request's purpose trail; required (422 otherwise) for personal data."""
    values = {name: request.headers.get(name) for name in PURPOSE_HEADERS}
    if not operation.personal_data and not any(values.values()):
        return None
    errors = [
        {"field": f"header.{name}", "message": f"required: {rule}", "type": "purpose_trail"}
        for name, (pattern, rule) in PURPOSE_HEADERS.items()
        if not (values[name] and pattern.fullmatch(values[name] or ""))
    ]
    if errors:
        raise ProblemError(
            422,
            ProblemType.VALIDATION,
            "Purpose trail missing or malformed",
            "operations on personal data need LGSP-Officer-Id, LGSP-Procedure-Code and "
            "LGSP-Case-Id",
            errors=errors,
        )
    return Purpose(
        officer_id=values["LGSP-Officer-Id"] or "",
        procedure_code=values["LGSP-Procedure-Code"] or "",
        case_id=values["LGSP-Case-Id"] or "",
    )
