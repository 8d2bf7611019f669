"""With no broker at all, the operator endpoints answer at once and say so; nothing hangs."""

from __future__ import annotations

import socket
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from adapters.registry import Registry
from gateway.app import create_app
from schemas.config import Settings
from tests.support.ops_stack import Backend, probe_adapter


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


async def test_operator_endpoints_report_an_unreachable_broker(tmp_path: Path) -> None:
    port = closed_port()
    settings = Settings(
        bus={"url": f"amqp://u:p@127.0.0.1:{port}/", "connect_timeout": 0.5},
        ops={
            "token": "operator-token",
            "management_url": f"http://127.0.0.1:{port}",
            "management_timeout": 0.5,
        },
        auth={"keys_dir": str(tmp_path / "keys")},
        audit={"store": str(tmp_path / "audit.sqlite3"), "spool_dir": str(tmp_path / "spool")},
    )
    app = create_app(settings, Registry([probe_adapter(Backend())]))
    ops = {"Authorization": "Bearer operator-token"}
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    try:
        ready = await client.get("/readyz")
        assert ready.status == 503
        assert (await ready.json())["detail"] == "broker not connected"

        report = await (await client.get("/ops/queues", headers=ops)).json()
        assert (report["source"], report["verdict"]) == ("unavailable", "critical")
        assert report["error"].startswith("broker unreachable")
        assert report["gateway"]["broker_connected"] is False

        listed = await client.get("/ops/dlq", headers=ops)
        assert listed.status == 503
        assert "nothing was changed" in (await listed.json())["detail"]
        replay = await client.post("/ops/dlq/replay", json={"all": True}, headers=ops)
        assert replay.status == 503

        text = await (await client.get("/metrics")).text()
        values = {
            s.name: s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }
        assert values["lgsp_broker_connected"] == 0
        assert values["lgsp_queue_facts_available"] == 0
    finally:
        await client.close()
