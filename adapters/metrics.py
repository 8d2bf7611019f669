"""A worker's Prometheus metrics, in a registry of its own, served on `worker.metrics_port`.

Labels are bounded and never personal: the operation name (one of the adapter's
own, or `unknown`), an HTTP status or a dead-letter reason. Nothing from a
message body or header becomes a label.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import generate_latest

from adapters.breaker import BreakerState, CircuitBreaker

T = TypeVar("T")

# Central calls take milliseconds to seconds; the buckets cover a deadline of a minute.
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
UNKNOWN = "unknown"


M = TypeVar("M", Counter, Gauge, Histogram)


class Children:
    """`metric.labels(...)` remembered: prometheus-client takes a lock and builds a key per
    call, several times per request on the hot path. Label values here are bounded (known
    adapters, operations and statuses; never text from a request), so the cache is too."""

    def __init__(self) -> None:
        self._children: dict[tuple[int, tuple[str, ...]], object] = {}

    def of(self, metric: M, *labels: str) -> M:
        key = (id(metric), labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child  # type: ignore[return-value]


class WorkerMetrics:
    def __init__(self, adapter: str, operations: list[str]) -> None:
        self.adapter = adapter
        self.operations = frozenset(operations)
        self.children = Children()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.messages = Counter(
            "lgsp_worker_messages",
            "Messages handled, by operation and outcome (HTTP status or dead-letter reason).",
            ["adapter", "operation", "status"],
            registry=r,
        )
        self.central_seconds = Histogram(
            "lgsp_worker_central_call_seconds",
            "Duration of each attempt of a central-system call.",
            ["adapter", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.retries = Counter(
            "lgsp_worker_retries",
            "Central-system call attempts after the first (retries scheduled by the policy).",
            ["adapter", "operation"],
            registry=r,
        )
        self.dead_lettered_total = Counter(
            "lgsp_worker_dead_lettered",
            "Messages this worker dead-lettered itself, by reason.",
            ["adapter", "reason"],
            registry=r,
        )
        self.in_flight = Gauge(
            "lgsp_worker_in_flight", "Messages being processed now.", ["adapter"], registry=r
        )
        self.connected = Gauge(
            "lgsp_worker_broker_connected",
            "1 while the worker is connected and consuming, else 0.",
            ["adapter"],
            registry=r,
        )
        self.breaker_state = Gauge(
            "lgsp_worker_breaker_state",
            "The central system's circuit breaker: 0 closed, 1 half-open, 2 open.",
            ["adapter"],
            registry=r,
        )
        self.breaker_transitions = Counter(
            "lgsp_worker_breaker_transitions",
            "Circuit-breaker state changes, by the state entered.",
            ["adapter", "state"],
            registry=r,
        )
        self.breaker_refused = Counter(
            "lgsp_worker_breaker_refused",
            "Messages answered 503 central-unavailable: the breaker refused them, or the "
            "central system asked for a wait their deadline did not allow.",
            ["adapter", "operation"],
            registry=r,
        )

    def operation_label(self, name: str) -> str:
        return name if name in self.operations else UNKNOWN

    def track_connection(self, is_connected: Callable[[], bool]) -> None:
        self.connected.labels(self.adapter).set_function(lambda: float(is_connected()))

    def track_breaker(self, breaker: CircuitBreaker) -> None:
        # Read at scrape time: an open breaker whose cool-down is over shows as half-open.
        self.breaker_state.labels(self.adapter).set_function(lambda: float(breaker.state))

    def breaker_transition(self, _old: BreakerState, new: BreakerState) -> None:
        self.breaker_transitions.labels(self.adapter, new.name.lower().replace("_", "-")).inc()

    def refused(self, operation: str) -> None:
        self.breaker_refused.labels(self.adapter, self.operation_label(operation)).inc()

    def started(self) -> None:
        self.children.of(self.in_flight, self.adapter).inc()

    def finished(self, message_type: str, status: int | str | None) -> None:
        """One message done; `status` None means unfinished (left for redelivery)."""
        self.children.of(self.in_flight, self.adapter).dec()
        operation = self.operation_label(message_type.removeprefix(self.adapter + "/"))
        label = "unfinished" if status is None else str(status)
        self.children.of(self.messages, self.adapter, operation, label).inc()

    def dead_lettered(self, reason: str) -> None:
        self.dead_lettered_total.labels(self.adapter, reason).inc()

    def attempts(
        self, operation: str, call: Callable[[], Awaitable[T]]
    ) -> Callable[[], Awaitable[T]]:
        """Wrap one message's central call: time every attempt, count those after the first."""
        op = self.operation_label(operation)
        count = 0

        async def attempt() -> T:
            nonlocal count
            count += 1
            if count > 1:
                self.children.of(self.retries, self.adapter, op).inc()
            started = time.perf_counter()
            try:
                return await call()
            finally:
                elapsed = time.perf_counter() - started
                self.children.of(self.central_seconds, self.adapter, op).observe(elapsed)

        return attempt


def exposition(registry: CollectorRegistry) -> web.Response:
    """A registry's metrics in Prometheus' text format: the one way gateway and workers answer."""
    response = web.Response(body=generate_latest(registry))
    response.content_type = CONTENT_TYPE_LATEST.split(";")[0]
    response.charset = "utf-8"
    return response


async def serve_metrics(metrics: WorkerMetrics, host: str, port: int) -> web.AppRunner:
    """Serve `GET /metrics` for Prometheus; the caller cleans the runner up."""

    async def handler(_request: web.Request) -> web.Response:
        return exposition(metrics.registry)

    app = web.Application()
    app.router.add_get("/metrics", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
