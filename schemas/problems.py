"""RFC 9457 problem documents and the problem types the gateway answers with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from schemas.envelope import ReplySource

PROBLEM_CONTENT_TYPE = "application/problem+json"
_BASE = "https://lgsp.example/problems/"


class ProblemType:
    """Stable `type` URIs: clients branch on these, never on `title` or `detail`."""

    MALFORMED = _BASE + "malformed-body"
    UNAUTHORIZED = _BASE + "unauthorized"
    FORBIDDEN = _BASE + "forbidden"
    UNKNOWN_OPERATION = _BASE + "unknown-operation"
    NOT_FOUND = _BASE + "not-found"
    RECORD_NOT_FOUND = _BASE + "record-not-found"
    METHOD_NOT_ALLOWED = _BASE + "method-not-allowed"
    IDEMPOTENCY_CONFLICT = _BASE + "idempotency-key-reused"
    TOO_LARGE = _BASE + "body-too-large"
    UNSUPPORTED_MEDIA_TYPE = _BASE + "unsupported-media-type"
    VALIDATION = _BASE + "validation-failed"
    CENTRAL_REJECTED = _BASE + "central-rejected"
    RATE_LIMITED = _BASE + "rate-limited"
    # Too many failed matches on one data subject by one client (gateway/security/match_throttle).
    MATCH_THROTTLED = _BASE + "match-throttled"
    # The body did not arrive within `gateway.body_timeout` (slow or stalled client).
    REQUEST_TIMEOUT = _BASE + "request-timeout"
    INTERNAL = _BASE + "internal-error"
    CENTRAL_FAILED = _BASE + "central-failed"
    # The central system is known to be down (its circuit breaker is open, or it said when to
    # come back): answered at once, 503 with Retry-After, source central.
    CENTRAL_UNAVAILABLE = _BASE + "central-unavailable"
    ADAPTER_FAILED = _BASE + "adapter-failed"
    # 503, not done: the request never reached the broker (retry whenever you like).
    UNAVAILABLE = _BASE + "service-unavailable"
    # 503, perhaps done: the broker may hold the request (retry with the same Idempotency-Key).
    OUTCOME_UNKNOWN = _BASE + "outcome-unknown"
    NO_ROUTE = _BASE + "no-route"
    DEADLINE = _BASE + "deadline-exceeded"


# An extension member (RFC 9457 §3.2) of a worker's 503 problem document: the seconds the
# caller should wait, which the gateway also sends as the `Retry-After` header.
RETRY_AFTER_MEMBER = "retry_after"


class Problem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str
    title: str
    status: int
    detail: str = ""
    request_id: str = ""
    source: ReplySource = "gateway"
    errors: list[dict[str, Any]] | None = None
