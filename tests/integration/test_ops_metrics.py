"""Prometheus metrics and per-service statistics move as traffic flows, on a real broker."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from adapters.metrics import serve_metrics
from tests.support.ops_stack import PROBE, PROBE_QUEUE, ops_stack
from tests.support.rabbit import Rabbit

pytestmark = pytest.mark.integration


def sample(exposition: str, name: str, **labels: str) -> float:
    """The value of one sample, 0 when absent (a counter never incremented)."""
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


async def test_gateway_and_worker_metrics_move_with_traffic(rabbit: Rabbit, tmp_path: Path) -> None:
    async with ops_stack(rabbit, tmp_path) as stack:
        worker = stack.workers[0][0]
        runner = await serve_metrics(worker.metrics, "127.0.0.1", 0)
        port = runner.addresses[0][1]
        try:
            before = await (await stack.client.get("/metrics")).text()
            assert sample(before, "lgsp_broker_connected") == 1.0
            assert sample(before, "lgsp_queue_consumers", queue=PROBE_QUEUE) == 1.0

            for i in range(3):
                assert (await stack.echo(f"fine-{i}")).status == 200
            assert (await stack.echo("flaky-1", "flaky")).status == 200  # one retry
            assert (await stack.echo("missing-1", "missing")).status == 404
            assert (await stack.echo("crash-1", "crash")).status == 502  # dead-lettered
            token = await stack.client_token()
            unknown = await stack.client.post(
                "/v1/whatever/not-an-operation-000000001",
                json={},
                headers={"Authorization": f"Bearer {token}"},
            )
            assert unknown.status == 404
            await stack.publish_raw(b"{broken", message_id="broken-message-1")
            await stack.queue_report(
                lambda r: next(q for q in r["queues"] if q["role"] == "dead-letter")["ready"] == 2
            )

            after = await (await stack.client.get("/metrics")).text()
            labels = {"adapter": PROBE, "operation": "echo"}
            assert sample(after, "lgsp_gateway_requests_total", status="200", **labels) == 4
            assert sample(after, "lgsp_gateway_requests_total", status="404", **labels) == 1
            assert sample(after, "lgsp_gateway_requests_total", status="502", **labels) == 1
            # Arbitrary URLs never become label values.
            assert (
                sample(
                    after,
                    "lgsp_gateway_requests_total",
                    adapter="unknown",
                    operation="unknown",
                    status="404",
                )
                == 1
            )
            assert "not-an-operation" not in after
            assert sample(after, "lgsp_gateway_request_seconds_count", **labels) == 6
            assert sample(after, "lgsp_gateway_bus_seconds_count", **labels) == 6
            assert sample(after, "lgsp_gateway_in_flight") == 0
            assert sample(after, "lgsp_dead_letter_messages") == 2
            assert sample(after, "lgsp_audit_backlog_messages") >= 0
            assert sample(after, "lgsp_queue_verdict", queue="lgsp.dead-letter") == 1
            for personal in ("fine-0", "flaky-1", "crash-1"):
                assert personal not in after

            async with (
                aiohttp.ClientSession() as session,
                session.get(f"http://127.0.0.1:{port}/metrics") as resp,
            ):
                assert resp.status == 200
                text = await resp.text()
            assert sample(text, "lgsp_worker_messages_total", status="200", **labels) == 4
            assert sample(text, "lgsp_worker_messages_total", status="404", **labels) == 1
            assert sample(text, "lgsp_worker_messages_total", status="adapter-error", **labels) == 1
            assert (
                sample(
                    text,
                    "lgsp_worker_messages_total",
                    adapter=PROBE,
                    operation="echo",
                    status="undecodable",
                )
                == 1
            )
            assert sample(text, "lgsp_worker_retries_total", **labels) == 1
            # 3 fine + 2 flaky attempts + 1 missing + 1 crash
            assert sample(text, "lgsp_worker_central_call_seconds_count", **labels) == 7
            dead = {"adapter": PROBE}
            assert (
                sample(text, "lgsp_worker_dead_lettered_total", reason="adapter-error", **dead) == 1
            )
            assert (
                sample(text, "lgsp_worker_dead_lettered_total", reason="undecodable", **dead) == 1
            )
            assert sample(text, "lgsp_worker_in_flight", adapter=PROBE) == 0
            assert sample(text, "lgsp_worker_broker_connected", adapter=PROBE) == 1
        finally:
            await runner.cleanup()

        services = await stack.ops_get("/ops/services")
        assert services["window_seconds"] == 600
        (echo,) = services["services"]
        assert (echo["adapter"], echo["operation"]) == (PROBE, "echo")
        assert (echo["successes"], echo["failures"], echo["rejected"]) == (4, 1, 1)
        assert 0 < echo["min_ms"] <= echo["avg_ms"] <= echo["max_ms"]
        assert echo["last_success"] is not None
        assert echo["last_failure"] is not None
        assert orjson.dumps(services).find(b"fine-0") == -1


async def test_metrics_can_require_the_operator_credential(rabbit: Rabbit, tmp_path: Path) -> None:
    async with ops_stack(rabbit, tmp_path, workers=0, metrics_auth=True) as stack:
        assert (await stack.client.get("/metrics")).status == 401
        token = await stack.client_token()
        as_client = await stack.client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
        assert as_client.status == 401
        assert (await stack.client.get("/metrics", headers=stack.ops_headers)).status == 200
