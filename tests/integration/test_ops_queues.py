"""Queue health on a real broker: depth, consumers, verdicts, readiness, and `lgsp queues`."""

from __future__ import annotations

import io
import json
import socket
from pathlib import Path
from typing import Any

import orjson
import pytest

from gateway.cli.ops import queues_command
from tests.support.ops_stack import PROBE, PROBE_QUEUE, ops_stack
from tests.support.rabbit import Rabbit

pytestmark = pytest.mark.integration


def queue(report: dict[str, Any], name: str) -> dict[str, Any]:
    found: dict[str, Any] = next(q for q in report["queues"] if q["name"] == name)
    return found


async def test_stopped_worker_grows_depth_fails_readiness_turns_critical_and_recovers(
    rabbit: Rabbit, tmp_path: Path
) -> None:
    async with ops_stack(rabbit, tmp_path, depth_warning=2, depth_critical=4) as stack:
        report = await stack.queue_report(lambda r: queue(r, PROBE_QUEUE)["consumers"] == 1)
        assert queue(report, PROBE_QUEUE)["verdict"] == "ok"
        assert report["source"] == "management"
        assert (await stack.client.get("/readyz")).status == 200

        await stack.stop_workers()
        await stack.app_bus_refresh()
        ready = await stack.client.get("/readyz")
        assert ready.status == 503
        assert PROBE_QUEUE in (await ready.json())["detail"]
        for i in range(5):
            await stack.publish_raw(
                orjson.dumps({"value": f"queued-{i}"}), message_id=f"queued-message-{i}"
            )

        report = await stack.queue_report(lambda r: queue(r, PROBE_QUEUE)["ready"] == 5)
        probe = queue(report, PROBE_QUEUE)
        assert probe["verdict"] == "critical"
        assert probe["consumers"] == 0
        assert "no consumers" in probe["reasons"]
        assert "depth 5 >= 4" in probe["reasons"]
        assert report["verdict"] == "critical"
        assert report["gateway"]["ready"] is False

        out = io.StringIO()
        status = await queues_command(stack.settings, [PROBE], out=out)
        assert status == 2  # like a monitoring plugin: critical
        line = next(x for x in out.getvalue().splitlines() if x.startswith(PROBE_QUEUE))
        assert "CRITICAL" in line
        assert "no consumers" in line

        await stack.start_worker()
        await stack.backend.wait_calls(*(f"queued-{i}" for i in range(5)))
        await stack.wait_ready()
        assert (await stack.client.get("/readyz")).status == 200
        report = await stack.queue_report(
            lambda r: (
                queue(r, PROBE_QUEUE)["ready"] == 0 and queue(r, PROBE_QUEUE)["consumers"] == 1
            )
        )
        assert queue(report, PROBE_QUEUE)["verdict"] == "ok"


async def test_queue_facts_fall_back_to_amqp_without_the_management_api(
    rabbit: Rabbit, tmp_path: Path
) -> None:
    with socket.socket() as s:  # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    async with ops_stack(
        rabbit, tmp_path, management_url=f"http://127.0.0.1:{closed_port}"
    ) as stack:
        await stack.publish_raw(b"{not json", message_id="broken-message-1")
        report = await stack.queue_report(lambda r: queue(r, "lgsp.dead-letter")["ready"] == 1)
        assert report["source"] == "amqp"
        probe = queue(report, PROBE_QUEUE)
        assert probe["consumers"] == 1
        assert probe["unacked"] is None  # AMQP cannot tell
        dead = queue(report, "lgsp.dead-letter")
        assert dead["ready"] == 1
        assert dead["verdict"] == "warning"
        assert dead["reasons"] == ["1 dead letters present"]

        out = io.StringIO()
        status = await queues_command(stack.settings, [PROBE], as_json=True, out=out)
        assert status == 1  # warning: a dead letter is present
        assert json.loads(out.getvalue())["source"] == "amqp"

        out = io.StringIO()
        await queues_command(stack.settings, [PROBE], watch=True, interval=0, rounds=2, out=out)
        assert out.getvalue().count("\x1b[H\x1b[2J") == 2  # the screen redrawn each round
        assert out.getvalue().count("facts from amqp") == 2
