"""`POST /v1/{adapter}/{operation}`: validate, publish, await the reply, answer.

The hot path: the body is validated straight from bytes by the operation's
prebuilt validator, the reply body is forwarded as is on success.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any, Protocol

import orjson
from aiohttp import web
from pydantic import ValidationError

from adapters.interface import Operation
from adapters.registry import Registry
from gateway.bus import Bus
from gateway.http.purpose import purpose_of
from gateway.http.state import (
    BUS_SECONDS,
    CLIENT_ID,
    OPERATION,
    PURPOSE,
    REQUEST_ID,
    SUBJECT,
    Resolved,
)
from gateway.problems import ProblemError
from schemas.config import GatewaySettings
from schemas.envelope import Header
from schemas.problems import PROBLEM_CONTENT_TYPE, RETRY_AFTER_MEMBER, ProblemType

REGISTRY = web.AppKey("registry", Registry)
BUS = web.AppKey("bus", Bus)
GATEWAY_SETTINGS = web.AppKey("gateway_settings", GatewaySettings)

# A feature (access rights) may remove fields from a success body before it leaves.
ResponseFilter = Callable[[web.Request, Operation[Any], bytes], bytes]
RESPONSE_FILTER: web.AppKey[ResponseFilter] = web.AppKey("response_filter")


class CallGuard(Protocol):
    """A feature that sees a validated call before it is published, and its success body.

    `before` may refuse the call by raising `ProblemError`; `after` sees the reply body
    of a 200 before the response filter (the match throttle counts failed matches).
    """

    def before(self, request: web.Request, resolved: Resolved) -> None: ...

    def after(self, request: web.Request, resolved: Resolved, payload: bytes) -> None: ...


CALL_GUARDS: web.AppKey[list[CallGuard]] = web.AppKey("call_guards")

TIMEOUT_HEADER = "LGSP-Timeout"
IDEMPOTENCY_HEADER = "Idempotency-Key"
IDEMPOTENCY_RE = re.compile(r"[A-Za-z0-9._:-]{8,128}")
TRACEPARENT_RE = re.compile(r"[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}")


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def resolve(request: web.Request) -> Resolved | None:
    """The operation the request names, looked up in the registry once and kept on the request.

    Security, the handler, the audit trail and the metrics all ask; the first asks the registry.
    """
    try:
        return request[OPERATION]
    except KeyError:
        pass
    adapter = request.match_info.get("adapter")
    name = request.match_info.get("operation")
    operation = (
        request.config_dict[REGISTRY].operation(adapter, name)
        if adapter is not None and name is not None
        else None
    )
    resolved = Resolved(adapter, operation) if adapter is not None and operation else None
    request[OPERATION] = resolved
    return resolved


def find_operation(request: web.Request) -> Resolved:
    """The named operation, or 404 `unknown-operation`."""
    resolved = resolve(request)
    if resolved is None:
        adapter = request.match_info.get("adapter", "")
        name = request.match_info.get("operation", "")
        raise ProblemError(
            404,
            ProblemType.UNKNOWN_OPERATION,
            "Unknown operation",
            f"there is no operation {name!r} on adapter {adapter!r}; GET /v1/services lists them",
        )
    return resolved


def validation_problem(exc: ValidationError) -> ProblemError:
    errors = exc.errors(include_input=False, include_url=False, include_context=False)
    if any(e["type"] in ("json_invalid", "json_type") for e in errors):
        # The message of a JSON syntax error says where, never what: no echo of the input.
        return ProblemError(
            400,
            ProblemType.MALFORMED,
            "Malformed JSON body",
            errors[0]["msg"].split(" at line")[0],
        )
    return ProblemError(
        422,
        ProblemType.VALIDATION,
        "The request does not match the operation's schema",
        f"{len(errors)} problem(s) in the body",
        errors=[
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"], "type": e["type"]}
            for e in errors
        ],
    )


def deadline_of(
    request: web.Request, operation: Operation[Any], settings: GatewaySettings
) -> float:
    timeout = operation.timeout or settings.default_timeout
    asked = request.headers.get(TIMEOUT_HEADER)
    if asked is not None:
        try:
            value = float(asked)
        except ValueError:
            value = -1.0
        # The lower bound: a deadline shorter than a round trip only makes work nobody awaits.
        if not settings.min_timeout <= value <= settings.max_timeout:
            raise ProblemError(
                400,
                ProblemType.MALFORMED,
                f"Invalid {TIMEOUT_HEADER} header",
                f"seconds, at least {settings.min_timeout:g} and at most {settings.max_timeout:g}",
            )
        timeout = min(timeout, value)
    return time.time() + timeout


def message_headers(
    request: web.Request, operation: Operation[Any], deadline: float
) -> dict[str, Any]:
    headers: dict[str, Any] = {Header.DEADLINE: int(deadline * 1000)}
    client_id = request.get(CLIENT_ID)
    if client_id:
        headers[Header.CLIENT_ID] = client_id
    purpose = purpose_of(request, operation)
    request[PURPOSE] = purpose
    if purpose is not None:
        headers[Header.OFFICER_ID] = purpose.officer_id
        headers[Header.PROCEDURE_CODE] = purpose.procedure_code
        headers[Header.CASE_ID] = purpose.case_id
    key = request.headers.get(IDEMPOTENCY_HEADER)
    if key is not None or operation.write:
        if key is None or not IDEMPOTENCY_RE.fullmatch(key):
            raise ProblemError(
                422,
                ProblemType.VALIDATION,
                "Idempotency-Key required",
                "write operations need an Idempotency-Key header: 8 to 128 of A-Z a-z 0-9 . _ : -",
                errors=[
                    {
                        "field": "header.Idempotency-Key",
                        "message": "missing or malformed",
                        "type": "idempotency_key",
                    }
                ],
            )
        headers[Header.IDEMPOTENCY_KEY] = key
    traceparent = request.headers.get("traceparent")
    if traceparent and TRACEPARENT_RE.fullmatch(traceparent):
        headers[Header.TRACEPARENT] = traceparent
    return headers


async def read_body(request: web.Request, limit: int) -> bytes:
    if not _is_json(request.content_type):
        raise ProblemError(
            415,
            ProblemType.UNSUPPORTED_MEDIA_TYPE,
            "Unsupported media type",
            "send the body as application/json",
        )
    if request.content_length is not None and request.content_length > limit:
        raise ProblemError(
            413,
            ProblemType.TOO_LARGE,
            "Request body too large",
            f"the limit is {limit} bytes",
        )
    return await request.read()  # aiohttp enforces client_max_size for chunked bodies too


async def call_operation(request: web.Request) -> web.Response:
    settings = request.app[GATEWAY_SETTINGS]
    resolved = find_operation(request)
    adapter, operation = resolved.adapter, resolved.operation
    body = await read_body(request, settings.max_body_bytes)
    try:
        model = operation.request_adapter.validate_json(body)
    except ValidationError as exc:
        raise validation_problem(exc) from None
    if operation.subject is not None:
        request[SUBJECT] = getattr(model, operation.subject, None)
    deadline = deadline_of(request, operation, settings)
    headers = message_headers(request, operation, deadline)
    guards = request.app.get(CALL_GUARDS, ())
    for guard in guards:
        guard.before(request, resolved)
    sent = time.perf_counter()
    reply = await request.app[BUS].request(
        adapter,
        operation.name,
        operation.request_adapter.dump_json(model),
        request_id=request[REQUEST_ID],
        deadline=deadline,
        headers=headers,
    )
    request[BUS_SECONDS] = time.perf_counter() - sent
    content_type = reply.content_type
    payload = reply.body
    answer_headers: dict[str, str] = {}
    if content_type == PROBLEM_CONTENT_TYPE:
        problem = orjson.loads(payload)
        problem["request_id"] = request[REQUEST_ID]
        payload = orjson.dumps(problem)
        retry_after = problem.get(RETRY_AFTER_MEMBER)
        if isinstance(retry_after, int):  # the worker's 503 central-unavailable says when
            answer_headers["Retry-After"] = str(retry_after)
    if reply.status == 200:
        for guard in guards:
            guard.after(request, resolved, payload)
    hook = request.app.get(RESPONSE_FILTER)
    if hook is not None and reply.status == 200:
        payload = hook(request, operation, payload)
    return web.Response(
        body=payload, status=reply.status, content_type=content_type, headers=answer_headers
    )
