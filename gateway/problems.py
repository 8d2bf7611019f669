"""Errors as RFC 9457 problem documents: the gateway's one error boundary.

Handlers raise `ProblemError`; the edge middleware (gateway/edge.py) turns it,
aiohttp's own HTTP errors and anything unexpected into `application/problem+json`.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from adapters.errors import LgspError
from schemas.envelope import ReplySource
from schemas.problems import PROBLEM_CONTENT_TYPE, Problem, ProblemType


class ProblemError(LgspError):
    """An answer the caller gets as a problem document, with optional extra headers."""

    def __init__(
        self,
        status: int,
        problem_type: str,
        title: str,
        detail: str = "",
        *,
        source: ReplySource = "gateway",
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.problem = Problem(
            type=problem_type,
            title=title,
            status=status,
            detail=detail,
            source=source,
            errors=errors,
        )
        self.headers = headers or {}


def unavailable(detail: str, retry_after: int, *, source: ReplySource = "bus") -> ProblemError:
    return ProblemError(
        503,
        ProblemType.UNAVAILABLE,
        "Service unavailable",
        detail,
        source=source,
        headers={"Retry-After": str(retry_after)},
    )


def outcome_unknown(detail: str, retry_after: int) -> ProblemError:
    """503 for a request the broker may have received: it may be carried out, or not."""
    return ProblemError(
        503,
        ProblemType.OUTCOME_UNKNOWN,
        "Outcome unknown",
        f"{detail}; it may still be carried out: retry with the same Idempotency-Key",
        source="bus",
        headers={"Retry-After": str(retry_after)},
    )


def problem_response(
    problem: Problem, request_id: str, headers: dict[str, str] | None = None
) -> web.Response:
    problem.request_id = request_id
    return web.Response(
        status=problem.status,
        body=problem.model_dump_json(exclude_none=True),
        content_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


# aiohttp's own HTTP errors (routing, size limits) mapped to our problem types.
HTTP_PROBLEMS: dict[int, tuple[str, str]] = {
    400: (ProblemType.MALFORMED, "Malformed request"),
    404: (ProblemType.NOT_FOUND, "Not found"),
    405: (ProblemType.METHOD_NOT_ALLOWED, "Method not allowed"),
    413: (ProblemType.TOO_LARGE, "Request body too large"),
    415: (ProblemType.UNSUPPORTED_MEDIA_TYPE, "Unsupported media type"),
}


def from_http_exception(exc: web.HTTPException) -> tuple[Problem, dict[str, str]]:
    problem_type, title = HTTP_PROBLEMS.get(exc.status, (ProblemType.INTERNAL, exc.reason))
    headers = {}
    if exc.status == 405 and "Allow" in exc.headers:
        headers["Allow"] = exc.headers["Allow"]
    detail = exc.reason if exc.status != 413 else "the body exceeds the gateway's size limit"
    return Problem(type=problem_type, title=title, status=exc.status, detail=detail), headers
