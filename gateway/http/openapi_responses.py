"""The error answers of the OpenAPI document: one problem-document response per status.

Each status lists the problem `type`s the gateway really answers it with (the
same constants the code raises), so a client generated from the document can
branch on them. Which statuses an operation declares is `error_statuses`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from gateway.http.edge import REQUEST_ID_HEADER
from schemas.problems import PROBLEM_CONTENT_TYPE, ProblemType

PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}
EXAMPLE_REQUEST_ID = "req-0000000000000000"
# Set by the audit trail on every answer that disclosed personal data (gateway/audit/publisher.py
# RECEIPT_HEADER; this room may not import that one: a test keeps the two equal).
AUDIT_RECEIPT_HEADER = "LGSP-Audit-Receipt"


@dataclass(frozen=True, slots=True)
class ErrorResponse:
    name: str
    description: str
    # problem type -> (title, source) of one example document
    types: dict[str, tuple[str, str]]
    headers: tuple[str, ...] = field(default=())


ERROR_RESPONSES: dict[int, ErrorResponse] = {
    400: ErrorResponse(
        "BadRequest",
        "The body is not JSON, or a header (e.g. LGSP-Timeout) is malformed.",
        {ProblemType.MALFORMED: ("Malformed JSON body", "gateway")},
    ),
    401: ErrorResponse(
        "Unauthorized",
        "No valid bearer token: get one from POST /token.",
        {ProblemType.UNAUTHORIZED: ("Unauthorized", "gateway")},
        ("WWW-Authenticate",),
    ),
    403: ErrorResponse(
        "Forbidden",
        "The client has no access right to the operation.",
        {ProblemType.FORBIDDEN: ("Forbidden", "gateway")},
    ),
    404: ErrorResponse(
        "NotFound",
        "Two distinct types: `unknown-operation` (no such adapter or operation) and "
        "`record-not-found` (the central system has no such record).",
        {
            ProblemType.UNKNOWN_OPERATION: ("Unknown operation", "gateway"),
            ProblemType.RECORD_NOT_FOUND: ("Record not found", "central"),
        },
    ),
    405: ErrorResponse(
        "MethodNotAllowed",
        "The path exists with another method (see the Allow header).",
        {ProblemType.METHOD_NOT_ALLOWED: ("Method not allowed", "gateway")},
        ("Allow",),
    ),
    408: ErrorResponse(
        "RequestTimeout",
        "The body did not arrive in time (a slow or stalled client); the connection is closed.",
        {ProblemType.REQUEST_TIMEOUT: ("Request timeout", "gateway")},
    ),
    409: ErrorResponse(
        "Conflict",
        "The Idempotency-Key was used before with a different body.",
        {ProblemType.IDEMPOTENCY_CONFLICT: ("Idempotency key reused", "central")},
    ),
    413: ErrorResponse(
        "TooLarge",
        "The body exceeds the gateway's size limit.",
        {ProblemType.TOO_LARGE: ("Request body too large", "gateway")},
    ),
    415: ErrorResponse(
        "UnsupportedMediaType",
        "The body is not sent as application/json.",
        {ProblemType.UNSUPPORTED_MEDIA_TYPE: ("Unsupported media type", "gateway")},
    ),
    422: ErrorResponse(
        "Unprocessable",
        "The body does not match the schema, the purpose trail or Idempotency-Key is missing, "
        "or the central system refused the request; `errors` names the fields.",
        {
            ProblemType.VALIDATION: (
                "The request does not match the operation's schema",
                "gateway",
            ),
            ProblemType.CENTRAL_REJECTED: ("Rejected by the central system", "central"),
        },
    ),
    429: ErrorResponse(
        "RateLimited",
        "The client's rate limit is exceeded, or too many of its matches on one person failed: "
        "retry after Retry-After seconds.",
        {
            ProblemType.RATE_LIMITED: ("Too many requests", "gateway"),
            ProblemType.MATCH_THROTTLED: ("Too many failed matches", "gateway"),
        },
        ("Retry-After",),
    ),
    502: ErrorResponse(
        "CentralFailed",
        "The central system (or the adapter) failed after the retries.",
        {
            ProblemType.CENTRAL_FAILED: ("Central system failed", "central"),
            ProblemType.ADAPTER_FAILED: ("Adapter failed", "adapter"),
        },
    ),
    503: ErrorResponse(
        "Unavailable",
        "The bus or the adapter is unavailable (or the audit trail cannot record): retry after "
        "Retry-After seconds.",
        {
            ProblemType.UNAVAILABLE: ("Service unavailable", "bus"),
            ProblemType.NO_ROUTE: ("No route to the adapter", "bus"),
        },
        ("Retry-After",),
    ),
    504: ErrorResponse(
        "DeadlineExceeded",
        "No answer before the deadline (the operation's, or LGSP-Timeout's).",
        {ProblemType.DEADLINE: ("Deadline exceeded", "bus")},
    ),
}

# Statuses every operation can answer; 409 only writes can (an Idempotency-Key reused).
OPERATION_STATUSES = (400, 401, 403, 404, 405, 408, 413, 415, 422, 429, 502, 503, 504)


def ref(status: int) -> dict[str, str]:
    return {"$ref": f"#/components/responses/{ERROR_RESPONSES[status].name}"}


def error_statuses(*, write: bool) -> list[int]:
    return sorted([*OPERATION_STATUSES, 409] if write else OPERATION_STATUSES)


HEADERS: dict[str, dict[str, Any]] = {
    "RequestId": {
        "description": "The request's id: the one sent when well-formed, otherwise generated.",
        "required": True,  # the edge middleware sets it on every answer
        "schema": {"type": "string", "minLength": 8},
    },
    "RetryAfter": {
        "description": "Seconds to wait before retrying.",
        "schema": {"type": "string", "pattern": "^[0-9]+$"},
    },
    "WWWAuthenticate": {
        "description": "The bearer challenge (RFC 6750 §3).",
        "schema": {"type": "string"},
    },
    "Allow": {"description": "The methods the path accepts.", "schema": {"type": "string"}},
    "AuditReceipt": {
        "description": "The id of the audit record of this disclosure: file it with the case; "
        "subject access and `lgsp audit search --receipt` find the record by it.",
        "required": True,
        "schema": {"type": "string"},
    },
}
_HEADER_KEYS = {
    "Retry-After": "RetryAfter",
    "WWW-Authenticate": "WWWAuthenticate",
    "Allow": "Allow",
}


def _example(status: int, problem_type: str, title: str, source: str) -> dict[str, Any]:
    return {
        "type": problem_type,
        "title": title,
        "status": status,
        "detail": "what went wrong, in words; never personal data",
        "request_id": EXAMPLE_REQUEST_ID,
        "source": source,
    }


def _response(status: int, error: ErrorResponse) -> dict[str, Any]:
    headers: dict[str, Any] = {REQUEST_ID_HEADER: {"$ref": "#/components/headers/RequestId"}}
    for name in error.headers:
        headers[name] = {"$ref": f"#/components/headers/{_HEADER_KEYS[name]}"}
    examples = {
        problem_type.rsplit("/", 1)[-1]: {"value": _example(status, problem_type, title, source)}
        for problem_type, (title, source) in error.types.items()
    }
    return {
        "description": error.description,
        "headers": headers,
        "content": {PROBLEM_CONTENT_TYPE: {"schema": PROBLEM_REF, "examples": examples}},
    }


def responses() -> dict[str, Any]:
    return {error.name: _response(status, error) for status, error in ERROR_RESPONSES.items()}


def headers() -> dict[str, Any]:
    return dict(HEADERS)
