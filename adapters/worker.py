"""The adapter worker: consume one adapter's queue, call the central system, reply, then ack.

At-least-once by construction: a message is acked only after its reply was
published (or it was dead-lettered), so a worker that dies mid-call leaves the
message to be redelivered to another. A message that can never succeed is
dead-lettered at once with a reason, and its caller still gets an answer.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from dataclasses import dataclass
from typing import Any

import aio_pika
import orjson
import structlog
from aio_pika.abc import AbstractChannel, AbstractExchange
from pydantic import ValidationError

from adapters import amqp
from adapters.breaker import CircuitBreaker
from adapters.central import CentralSession
from adapters.connection import BROKER_ERRORS, keep_connected
from adapters.errors import CentralUnavailable, DeadlineExceeded, PermanentError, TransientError
from adapters.interface import Adapter, Context, Operation, Purpose
from adapters.logs import mask_text
from adapters.metrics import WorkerMetrics
from adapters.retry import Sleep, call_with_retry
from adapters.topology import declare_topology
from schemas.config import Settings
from schemas.envelope import DEAD_LETTER_EXCHANGE, Header, Reply, request_queue
from schemas.problems import PROBLEM_CONTENT_TYPE, RETRY_AFTER_MEMBER, Problem, ProblemType

JSON = "application/json"
Log = structlog.typing.FilteringBoundLogger


@dataclass(frozen=True, slots=True)
class Answer:
    """What a handler's call came to: the reply to send (status, body, content type)."""

    status: int
    body: bytes
    content_type: str


class AdapterFailed(Exception):
    """The adapter's own code failed (a bug, not a central-system outcome): dead-letter it."""


class Worker:
    def __init__(
        self,
        adapter: Adapter[Any],
        settings: Settings,
        *,
        sleep: Sleep = asyncio.sleep,
        metrics: WorkerMetrics | None = None,
    ):
        self.adapter = adapter
        self.settings = settings
        self.adapter_settings = settings.adapter(adapter.name)
        self.policy = adapter.retry_policy(self.adapter_settings)
        self.queue_name = request_queue(adapter.name)
        self.connected = asyncio.Event()
        self.log: Log = structlog.get_logger("lgsp.worker").bind(adapter=adapter.name)
        self.metrics = metrics or WorkerMetrics(adapter.name, list(adapter.operations))
        self.metrics.track_connection(self.connected.is_set)
        breaker = adapter.breaker_policy(self.adapter_settings)
        self.breaker: CircuitBreaker | None = None
        if breaker.enabled:
            self.breaker = CircuitBreaker(
                adapter.name, breaker, on_transition=self.metrics.breaker_transition
            )
            self.metrics.track_breaker(self.breaker)
        self._sleep = sleep
        self._stopping = asyncio.Event()
        self._inflight: set[asyncio.Task[Any]] = set()
        self._client: Any = None
        self._channel: AbstractChannel | None = None
        self._dead_exchange: AbstractExchange | None = None

    @property
    def in_flight(self) -> int:
        """Messages taken from the queue and not yet answered."""
        return len(self._inflight)

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        """Serve until `stop()`; reconnect after broker failures; fail fast on bad topology."""
        session = CentralSession(self.adapter_settings, self.adapter.base_url)
        self._client = self.adapter.connect(session, self.adapter_settings)
        try:
            await keep_connected(
                self._serve_one_connection,
                stop=self._stopping,
                max_delay=self.settings.bus.reconnect_max_delay,
                log=self.log,
            )
        finally:
            await session.aclose()

    async def _serve_one_connection(self) -> None:
        bus = self.settings.bus
        connection = await amqp.connect(
            bus.url.get_secret_value(),
            connect_timeout=bus.connect_timeout,
            name=f"lgsp-worker-{self.adapter.name}",
        )
        closed = asyncio.Event()
        connection.close_callbacks.add(lambda *_: closed.set())
        try:
            async with asyncio.timeout(bus.setup_timeout):
                channel = await connection.channel(publisher_confirms=True)
                await channel.set_qos(prefetch_count=self.settings.worker.prefetch)
                queues = await declare_topology(channel, [self.adapter.name], bus)
                queue = queues[self.adapter.name]
                self._channel = channel
                self._dead_exchange = await channel.get_exchange(DEAD_LETTER_EXCHANGE, ensure=False)
                tag = await amqp.consume(channel, queue.name, self._on_message)
            self.connected.set()
            self.log.info("worker.consuming", queue=self.queue_name)
            stopping = asyncio.ensure_future(self._stopping.wait())
            lost = asyncio.ensure_future(closed.wait())
            await asyncio.wait({stopping, lost}, return_when=asyncio.FIRST_COMPLETED)
            stopping.cancel()
            lost.cancel()
            if self._stopping.is_set() and not closed.is_set():
                # Stop taking work, finish what we hold (bounded), then leave.
                with contextlib.suppress(*BROKER_ERRORS):
                    await amqp.cancel(channel, tag)
                await self._drain(self.settings.gateway.shutdown_grace)
            elif closed.is_set():
                raise ConnectionError("broker connection lost")
        finally:
            self.connected.clear()
            self._channel = None
            if not connection.is_closed:
                with contextlib.suppress(*BROKER_ERRORS):
                    await connection.close()

    async def _drain(self, grace: float) -> None:
        if self._inflight:
            await asyncio.wait(set(self._inflight), timeout=grace)

    async def _on_message(self, message: amqp.Delivery) -> None:
        # Runs in the task aiormq starts for each delivery: tracked, not wrapped in another.
        task = asyncio.current_task()
        if task is not None:  # always, inside aiormq's consumer task
            self._inflight.add(task)
        try:
            await self._handle(message)
        finally:
            if task is not None:
                self._inflight.discard(task)

    async def _handle(self, message: amqp.Delivery) -> None:
        request_id = message.message_id or "-"
        log = self.log.bind(request_id=request_id, type=message.type)
        started = time.perf_counter()
        self.metrics.started()
        status: int | str | None = None
        try:
            status = await self._process(message, log)
        except BROKER_ERRORS as exc:
            # Not acked: the broker redelivers it once this connection is gone.
            log.warning("message.unfinished", error=type(exc).__name__)
            return
        except asyncio.CancelledError:
            # aiormq cancels a channel's consumer tasks when the channel closes: the same case.
            log.warning("message.unfinished", error="channel closed")
            raise
        finally:
            self.metrics.finished(message.type or "", status)
        log.info(
            "message.handled",
            status=status,
            redelivered=message.redelivered,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
        )

    async def _process(self, message: amqp.Delivery, log: Log) -> int | str:
        headers = message.headers
        op_name = (message.type or "").removeprefix(self.adapter.name + "/")
        operation = self.adapter.operations.get(op_name)
        if operation is None:
            return await self._reject(message, "unknown-operation", log)
        deadline_ms = headers.get(Header.DEADLINE)
        if not isinstance(deadline_ms, int):
            return await self._reject(message, "no-deadline", log)
        deadline = deadline_ms / 1000
        if time.time() >= deadline:
            # The caller has given up: never work on it, keep it for inspection.
            await self._dead_letter(message, "expired", log)
            return "expired"
        try:
            request = operation.request_adapter.validate_json(message.body)
        except ValidationError as exc:
            undecodable = any(e["type"] == "json_invalid" for e in exc.errors())
            return await self._reject(
                message, "undecodable" if undecodable else "schema-invalid", log
            )
        ctx = Context(
            client=self._client,
            request_id=message.message_id or "-",
            operation=operation.name,
            deadline=deadline,
            client_id=_text(headers.get(Header.CLIENT_ID)),
            purpose=_purpose(headers),
            idempotency_key=_text(headers.get(Header.IDEMPOTENCY_KEY)),
            log=log,
        )
        try:
            answer = await self._call(operation, request, ctx, log)
        except AdapterFailed:
            return await self._reject(message, "adapter-error", log)
        await self._reply(message, answer)
        await message.ack()
        return answer.status

    async def _call(
        self, operation: Operation[Any], request: Any, ctx: Context[Any], log: Log
    ) -> Answer:
        """Run the handler under the retry policy; `AdapterFailed` when the adapter's code broke."""
        try:
            response = await call_with_retry(
                self.metrics.attempts(operation.name, lambda: operation.handler(request, ctx)),
                self.policy,
                ctx.deadline,
                log,
                self._sleep,
                self.breaker,
            )
        except CentralUnavailable as exc:
            self.metrics.refused(operation.name)
            return _problem(
                503,
                ProblemType.CENTRAL_UNAVAILABLE,
                "The central system is unavailable",
                exc.detail,
                "central",
                retry_after=max(1, math.ceil(exc.retry_after)),
            )
        except PermanentError as exc:
            return _problem(
                exc.status, exc.problem_type, exc.title, exc.detail, exc.source, exc.errors
            )
        except TransientError as exc:
            return _problem(
                502,
                ProblemType.CENTRAL_FAILED,
                "The central system failed",
                f"still failing after retries: {exc}",
                "central",
            )
        except DeadlineExceeded:
            return _problem(
                504,
                ProblemType.DEADLINE,
                "Deadline exceeded",
                "the central system did not answer in time",
                "central",
            )
        except Exception as exc:
            log.exception("adapter.failed")
            raise AdapterFailed from exc
        return Answer(200, response.model_dump_json().encode(), JSON)

    async def _reject(self, message: amqp.Delivery, reason: str, log: Log) -> str:
        """Answer the caller, then dead-letter a message that can never succeed."""
        answer = _problem(
            502,
            ProblemType.ADAPTER_FAILED,
            "The adapter could not process the request",
            f"message rejected: {reason}",
            "adapter",
        )
        await self._reply(message, answer)
        await self._dead_letter(message, reason, log)
        return reason

    async def _reply(self, message: amqp.Delivery, answer: Answer) -> None:
        if not message.reply_to or self._channel is None:
            return
        props = amqp.properties(
            content_type=answer.content_type,
            correlation_id=message.correlation_id,
            message_id=message.message_id,
            headers={Reply.STATUS: answer.status},
            persistent=False,
        )
        async with asyncio.timeout(self.settings.bus.publish_timeout):
            # Mandatory, on a channel without on_return_raises: a reply whose queue is gone
            # (its gateway stopped) comes back and is dropped; the request is still answered.
            await amqp.publish(
                self._channel, answer.body, exchange="", routing_key=message.reply_to, props=props
            )

    async def _dead_letter(self, message: amqp.Delivery, reason: str, log: Log) -> None:
        if self._dead_exchange is None:  # the connection is gone: left unacked, redelivered
            raise ConnectionError("no channel to dead-letter on")
        headers = dict(message.headers)
        headers[Header.REASON] = reason
        headers[Header.ORIGIN_QUEUE] = self.queue_name
        await self._dead_exchange.publish(
            aio_pika.Message(
                message.body,
                headers=headers,
                content_type=message.content_type,
                message_id=message.message_id,
                correlation_id=message.correlation_id,
                reply_to=message.reply_to,
                type=message.type,
                delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
            ),
            routing_key=self.adapter.name,
            timeout=self.settings.bus.publish_timeout,
        )
        await message.ack()
        self.metrics.dead_lettered(reason)
        log.warning("message.dead_lettered", reason=reason)


def _problem(
    status: int,
    problem_type: str,
    title: str,
    detail: str,
    source: Any,
    errors: list[dict[str, Any]] | None = None,
    *,
    retry_after: int | None = None,
) -> Answer:
    problem = Problem(
        type=problem_type,
        title=title,
        status=status,
        detail=mask_text(detail),
        source=source,
        errors=errors,
    )
    if retry_after is None:
        body = problem.model_dump_json(exclude_none=True).encode()
    else:  # an extension member; the gateway sends it on as the Retry-After header
        body = orjson.dumps(
            problem.model_dump(exclude_none=True) | {RETRY_AFTER_MEMBER: retry_after}
        )
    return Answer(status, body, PROBLEM_CONTENT_TYPE)


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        return value.decode(errors="replace")
    return value if isinstance(value, str) else None


def _purpose(headers: dict[str, Any]) -> Purpose | None:
    officer = _text(headers.get(Header.OFFICER_ID))
    procedure = _text(headers.get(Header.PROCEDURE_CODE))
    case = _text(headers.get(Header.CASE_ID))
    if officer and procedure and case:
        return Purpose(officer, procedure, case)
    return None
