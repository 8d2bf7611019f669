"""Assembling the gateway application from the settings and the adapter registry.

This is where the rooms meet, and the one place that says in which order
things happen to a request:

    edge_middleware            request id, problem documents, observers, one log line
    body_deadline_middleware   the body, read within gateway.body_timeout (408)
    authentication_middleware  /v1: who is calling (401)
    rate_limit_middleware      /v1: how often (429)
    rights_middleware          /v1: may they call this operation (403)
    handler                    body, schema (400/413/415/422), purpose trail, bus
                               (call guards: the match throttle, 429)

and, once the answer exists, which observers see it (`OBSERVERS`, below).
"""

from __future__ import annotations

from aiohttp import web

from adapters.registry import Registry
from gateway.audit.publisher import AUDIT, AuditPublisher
from gateway.bus import Bus
from gateway.connections import CONNECTION_GUARD, ConnectionGuard
from gateway.gossip import GOSSIP, Gossip
from gateway.http import health, openapi
from gateway.http.edge import OBSERVERS, Observer, edge_middleware
from gateway.http.health import READINESS_CHECKS
from gateway.http.masking import mask_problem_documents
from gateway.http.operations import (
    BUS,
    CALL_GUARDS,
    GATEWAY_SETTINGS,
    REGISTRY,
    RESPONSE_FILTER,
    CallGuard,
    call_operation,
)
from gateway.http.receiving import body_deadline_middleware
from gateway.ops import maintenance, pages
from gateway.ops.app import (
    DEAD_LETTERS,
    METRICS,
    OPERATOR,
    OPS_SETTINGS,
    QUEUE_MONITOR,
    SERVICE_STATS,
    metrics,
    ops_app,
)
from gateway.ops.dlq import DeadLetters
from gateway.ops.metrics import GatewayMetrics
from gateway.ops.queues import AmqpLink, QueueMonitor
from gateway.ops.servicestats import ServiceStats
from gateway.security import discovery
from gateway.security.authentication import (
    AUTHENTICATOR,
    Authenticator,
    authentication_middleware,
)
from gateway.security.authorisation import response_filter, rights_middleware
from gateway.security.clients import ClientStore
from gateway.security.disclosure import client_facts
from gateway.security.enumeration import ENUMERATION, EnumerationAlarm
from gateway.security.keys import KeyRing
from gateway.security.match_throttle import MatchThrottle
from gateway.security.operator import OperatorCredential
from gateway.security.ratelimit import RATE_LIMITER, RateLimiter, rate_limit_middleware
from gateway.security.services import services
from gateway.security.token_endpoint import token_endpoint
from gateway.security.token_throttle import TOKEN_THROTTLE, TokenThrottle
from gateway.security.tokens import TokenService
from schemas.config import Settings, config_path


def _authenticator(settings: Settings) -> Authenticator:
    keys = KeyRing(settings.auth.keys_dir, settings.auth.reload_interval)
    keys.ensure()
    config_file = config_path()
    return Authenticator(
        tokens=TokenService(settings.auth, keys),
        clients=ClientStore(settings.auth, config_file if config_file.exists() else None),
        mtls=settings.tls.client_ca_file is not None,
    )


def create_app(settings: Settings, registry: Registry) -> web.Application:
    bus = Bus(settings.bus, registry.names, settings.gateway.retry_after_seconds)
    audit = AuditPublisher(settings.audit, bus, client_facts)
    stats = ServiceStats(settings.ops.stats_window_seconds)
    gateway_metrics = GatewayMetrics(bus, stats)
    audit.register_metrics(gateway_metrics.registry)
    link = AmqpLink(settings.bus)

    app = web.Application(
        client_max_size=settings.gateway.max_body_bytes,
        middlewares=[
            edge_middleware,
            body_deadline_middleware,
            authentication_middleware,
            rate_limit_middleware,
            rights_middleware,
        ],
    )
    app[GATEWAY_SETTINGS] = settings.gateway
    app[REGISTRY] = registry
    app[BUS] = bus
    app[AUTHENTICATOR] = _authenticator(settings)
    app[RATE_LIMITER] = limiter = RateLimiter()
    app[GOSSIP] = gossip = Gossip(settings.bus, settings.gateway.gossip_interval or 1.0)
    gossip.contribute("ratelimit", limiter.usage)
    gossip.subscribe("ratelimit", limiter.fold)
    gossip.contribute("services", stats.snapshot)
    gossip.contribute("gateway", lambda: {"in_flight": bus.in_flight, "ready": bus.ready()[0]})
    app[RESPONSE_FILTER] = response_filter
    match_throttle = MatchThrottle(settings.auth.match_throttle)
    guards: list[CallGuard] = [match_throttle]
    app[CALL_GUARDS] = guards
    token_throttle = TokenThrottle(settings.auth.token_throttle)
    app[TOKEN_THROTTLE] = token_throttle
    connections = ConnectionGuard(
        settings.gateway.max_connections, settings.gateway.max_connections_per_address
    )
    app[CONNECTION_GUARD] = connections
    for alarms in (match_throttle, token_throttle, connections):
        gateway_metrics.registry.register(alarms)
    # Every answer passes these, in this order: personal data masked in error documents; the
    # call recorded in the audit trail (an answer with personal data that cannot be recorded
    # becomes a 503); counted last, so the metrics see the answer the client gets.
    # The enumeration alarm counts the people each client touched (it never blocks).
    enumeration = EnumerationAlarm(
        settings.audit, audit.key, audit.publish_in_background, gateway_metrics.registry
    )
    observers: list[Observer] = [
        mask_problem_documents,
        audit.observe,
        enumeration.observe,
        gateway_metrics.observe,
    ]
    app[OBSERVERS] = observers
    app[AUDIT] = audit
    app[ENUMERATION] = enumeration
    app[READINESS_CHECKS] = [maintenance.readiness_check(settings.ops.maintenance_file)]

    app[OPS_SETTINGS] = settings.ops
    app[OPERATOR] = OperatorCredential(settings.ops.token)
    app[QUEUE_MONITOR] = monitor = QueueMonitor(settings, registry.names, link)
    app[DEAD_LETTERS] = DeadLetters(link, settings.ops, settings.bus.publish_timeout)
    app[SERVICE_STATS] = stats
    app[METRICS] = gateway_metrics
    app[pages.PAGES] = pages.load_pages()

    # Opened first, closed last: the bus; the audit trail drains its events before it closes.
    app.cleanup_ctx.append(bus.lifecycle)
    app.cleanup_ctx.append(audit.lifecycle)
    if settings.gateway.gossip_interval > 0:
        app.cleanup_ctx.append(gossip.lifecycle)
    app.on_cleanup.append(lambda _app: monitor.close())
    app.on_cleanup.append(lambda _app: link.close())

    r = app.router
    r.add_get("/healthz", health.healthz)
    r.add_get("/readyz", health.readyz)
    r.add_post("/token", token_endpoint)
    r.add_get("/v1/services", services)
    r.add_get(discovery.METADATA_PATH, discovery.authorization_server)
    r.add_get(discovery.JWKS_PATH, discovery.jwks)
    openapi.install(app, settings)  # /openapi.json, /docs and its assets
    r.add_post("/v1/{adapter}/{operation}", call_operation)
    r.add_get("/metrics", metrics)
    r.add_get("/ops", pages.dashboard)  # before the sub-app, which would match /ops too
    r.add_post("/ops/login", pages.login)
    app.add_subapp("/ops", ops_app())
    return app
