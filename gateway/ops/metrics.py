"""The gateway's Prometheus metrics and its per-service statistics, fed by one edge observer.

A registry per application (not the process-global one), so that several apps
in one process (tests) do not share counters. Labels are bounded and never
personal: adapter and operation names come from the registry (`unknown`
otherwise), statuses are HTTP codes, queue names are ours.
"""

from __future__ import annotations

from aiohttp import web
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from adapters.metrics import LATENCY_BUCKETS, UNKNOWN, Children
from gateway.bus import Bus
from gateway.http.operations import resolve
from gateway.http.state import BUS_SECONDS
from gateway.ops.breakers import CentralView
from gateway.ops.queues import SEVERITY, QueueReport
from gateway.ops.servicestats import ServiceStats


class GatewayMetrics:
    def __init__(self, bus: Bus, stats: ServiceStats) -> None:
        self.stats = stats
        self.central = CentralView()
        self.children = Children()
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "lgsp_gateway_requests",
            "Answered /v1 requests by adapter, operation and HTTP status.",
            ["adapter", "operation", "status"],
            registry=r,
        )
        self.request_seconds = Histogram(
            "lgsp_gateway_request_seconds",
            "Whole request duration at the gateway, from first byte to answer.",
            ["adapter", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.bus_seconds = Histogram(
            "lgsp_gateway_bus_seconds",
            "Bus round trip: publish to correlated reply.",
            ["adapter", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        in_flight = Gauge(
            "lgsp_gateway_in_flight", "Requests awaiting their reply from the bus.", registry=r
        )
        in_flight.set_function(lambda: float(bus.in_flight))
        connected = Gauge(
            "lgsp_broker_connected", "1 while the gateway's bus connection is up.", registry=r
        )
        connected.set_function(lambda: float(bus.connected.is_set()))
        self.ready = Gauge(
            "lgsp_queue_messages_ready", "Messages waiting in a queue.", ["queue"], registry=r
        )
        self.unacked = Gauge(
            "lgsp_queue_messages_unacked",
            "Messages delivered and not yet acknowledged (management API only).",
            ["queue"],
            registry=r,
        )
        self.consumers = Gauge(
            "lgsp_queue_consumers", "Consumers on a queue.", ["queue"], registry=r
        )
        self.verdict = Gauge(
            "lgsp_queue_verdict",
            "Queue verdict: 0 ok, 1 warning, 2 critical.",
            ["queue"],
            registry=r,
        )
        self.dead_letters = Gauge(
            "lgsp_dead_letter_messages", "Messages in the dead-letter queue.", registry=r
        )
        self.audit_backlog = Gauge(
            "lgsp_audit_backlog_messages", "Audit events not yet stored.", registry=r
        )
        self.queue_source = Gauge(
            "lgsp_queue_facts_available",
            "1 when queue facts could be read (management API or AMQP), else 0.",
            registry=r,
        )

    async def observe(
        self, request: web.Request, response: web.StreamResponse, duration: float
    ) -> None:
        """Edge observer: count every /v1 operation call and feed the service statistics."""
        if "operation" not in request.match_info:
            return  # not an operation call (health, ops, metrics)
        resolved = resolve(request)
        if resolved is None:
            adapter = operation = UNKNOWN  # never a label from arbitrary URLs
        else:
            adapter, operation = resolved.adapter, resolved.operation.name
        self.children.of(self.requests, adapter, operation, str(response.status)).inc()
        self.children.of(self.request_seconds, adapter, operation).observe(duration)
        bus_seconds = request.get(BUS_SECONDS)
        if isinstance(bus_seconds, float):
            self.children.of(self.bus_seconds, adapter, operation).observe(bus_seconds)
        if adapter != UNKNOWN:
            self.stats.record(adapter, operation, response.status, duration)
            if isinstance(bus_seconds, float):  # a worker replied (breaker refusal or not)
                self.central.saw_reply(adapter, response)
        return

    def update_queues(self, report: QueueReport) -> None:
        self.queue_source.set(0 if report.source == "unavailable" else 1)
        for q in report.queues:
            self.ready.labels(q.name).set(q.ready)
            self.consumers.labels(q.name).set(q.consumers)
            self.verdict.labels(q.name).set(SEVERITY[q.verdict])
            if q.unacked is not None:
                self.unacked.labels(q.name).set(q.unacked)
            if q.role == "dead-letter":
                self.dead_letters.set(q.ready)
            elif q.role == "audit":
                self.audit_backlog.set(q.ready)
