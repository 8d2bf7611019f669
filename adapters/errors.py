"""The one exception tree of LGSP Gateway.

    LgspError                  root: everything we raise on purpose
    ├── AdapterError           raised by adapters; the runtime decides what follows
    │   ├── TransientError     worth retrying: timeouts, resets, 5xx, 429, an outage;
    │   │                      carries the central system's Retry-After when it sent one
    │   └── PermanentError     not worth retrying; carries the answer the caller gets
    │       ├── RecordNotFound       the central system has no such record (404)
    │       ├── CentralRejected      the central system refused the input (422)
    │       ├── IdempotencyConflict  a key reused with another body (409)
    │       └── CentralProtocolError an answer we cannot accept: malformed,
    │                                oversized, a redirect (502, source central)
    ├── DeadlineExceeded       the message's deadline passed (504)
    ├── CentralUnavailable     the central system's circuit breaker is open, or it asked
    │                          for a wait longer than the deadline (503, Retry-After)
    ├── TopologyError          broker objects exist with incompatible arguments
    ├── BrokerUnavailable      the broker could not be reached, or the connection
    │                          failed mid-call (adapters/connection.py maps it)
    └── ConfigError            settings that cannot work (missing credentials ...)

Adapters raise only TransientError or PermanentError (or its subclasses); the
runtime owns retries, deadlines, replies, acks and dead-lettering. The gateway
adds its own `ProblemError` under `LgspError`.
"""

from __future__ import annotations

from typing import Any

from schemas.envelope import ReplySource
from schemas.problems import ProblemType


class LgspError(Exception):
    """Root of every exception LGSP Gateway raises on purpose."""


class AdapterError(LgspError):
    pass


class TransientError(AdapterError):
    """The call may succeed if tried again; the retry policy decides whether it is.

    `retry_after`: the seconds the central system asked its callers to wait (its
    `Retry-After` header on a 429 or 503), which the retry policy honours.
    """

    def __init__(self, detail: str = "", *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


class PermanentError(AdapterError):
    """A definitive outcome: retrying cannot change it. Becomes the caller's problem document."""

    status = 502
    problem_type = ProblemType.ADAPTER_FAILED
    title = "The adapter could not complete the operation"
    source: ReplySource = "adapter"

    def __init__(self, detail: str, *, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors


class RecordNotFound(PermanentError):
    status = 404
    problem_type = ProblemType.RECORD_NOT_FOUND
    title = "No such record in the central system"
    source: ReplySource = "central"


class CentralRejected(PermanentError):
    status = 422
    problem_type = ProblemType.CENTRAL_REJECTED
    title = "The central system rejected the request"
    source: ReplySource = "central"


class IdempotencyConflict(PermanentError):
    status = 409
    problem_type = ProblemType.IDEMPOTENCY_CONFLICT
    title = "Idempotency key reused with a different request"
    source: ReplySource = "central"


class CentralProtocolError(PermanentError):
    status = 502
    problem_type = ProblemType.CENTRAL_FAILED
    title = "The central system gave an answer that cannot be used"
    source: ReplySource = "central"


class DeadlineExceeded(LgspError):
    """The request's deadline passed; nobody is waiting for an answer any more."""


class CentralUnavailable(LgspError):
    """Raised by the runtime, never by adapters: the call fails fast without reaching the
    central system, because its breaker is open (adapters/breaker.py) or because it asked for
    a wait the deadline does not allow. `retry_after` says when to come back, in seconds."""

    def __init__(self, detail: str, retry_after: float) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


class TopologyError(LgspError):
    """A queue or exchange exists with arguments other than ours; we refuse to guess."""


class BrokerUnavailable(LgspError):
    """The broker is unreachable or its connection failed; nothing was done that needs undoing."""


class ConfigError(LgspError):
    """The settings cannot work; the message says which one and how to fix it."""
