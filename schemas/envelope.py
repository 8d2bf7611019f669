"""The bus contract between the gateway and the adapter workers.

Names here are what operators see in RabbitMQ; both sides import them, so a
rename is one edit.
"""

from __future__ import annotations

from typing import Literal

REQUESTS_EXCHANGE = "lgsp.requests"
DEAD_LETTER_EXCHANGE = "lgsp.dead-letter"
DEAD_LETTER_QUEUE = "lgsp.dead-letter"
AUDIT_EXCHANGE = "lgsp.audit"
AUDIT_QUEUE = "lgsp.audit"
REPLY_QUEUE_PREFIX = "lgsp.replies."


def request_queue(adapter: str) -> str:
    return f"{REQUESTS_EXCHANGE}.{adapter}"


class Header:
    """AMQP header names carried by a request message."""

    DEADLINE = "lgsp-deadline-ms"  # absolute, ms since the epoch
    CLIENT_ID = "lgsp-client-id"
    OFFICER_ID = "lgsp-officer-id"
    PROCEDURE_CODE = "lgsp-procedure-code"
    CASE_ID = "lgsp-case-id"
    IDEMPOTENCY_KEY = "idempotency-key"
    TRACEPARENT = "traceparent"
    # Set on messages the worker dead-letters itself, so operators see why.
    REASON = "x-lgsp-reason"
    ORIGIN_QUEUE = "x-lgsp-origin-queue"


ReplySource = Literal["gateway", "bus", "adapter", "central"]


class Reply:
    """A reply message carries the HTTP status in a header and the final body as is.

    The body is the operation's response model as JSON (`application/json`) or a
    problem document (`application/problem+json`), so the gateway forwards it
    without parsing on the success path.
    """

    STATUS = "lgsp-status"
