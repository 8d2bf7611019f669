"""Maintenance mode drains a node: readiness answers 503 while requests are still served."""

from __future__ import annotations

import asyncio
import io
import os
import sys
from pathlib import Path

import pytest

from gateway.cli.ops import maintenance_command
from tests.support.ops_stack import ops_stack
from tests.support.rabbit import Rabbit

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]


async def lgsp(*argv: str, env: dict[str, str]) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        *argv,
        env={**os.environ, **env},
        cwd=ROOT,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    out, _ = await process.communicate()
    assert process.returncode is not None
    return process.returncode, out.decode()


async def test_maintenance_switch_drains_readiness_and_off_restores_it(
    rabbit: Rabbit, tmp_path: Path
) -> None:
    async with ops_stack(rabbit, tmp_path) as stack:
        flag = stack.settings.ops.maintenance_file
        assert (await stack.client.get("/readyz")).status == 200

        # `lgsp maintenance on` in its own process reaches this running gateway.
        status, out = await lgsp(
            "maintenance",
            "on",
            "--reason",
            "kernel update",
            env={"LGSP_OPS__MAINTENANCE_FILE": str(flag)},
        )
        assert status == 0, out
        assert "maintenance ON" in out
        drained = await stack.client.get("/readyz")
        assert drained.status == 503
        assert drained.headers["Retry-After"] == "1"
        assert "maintenance" in (await drained.json())["detail"]
        assert (await stack.client.get("/healthz")).status == 200  # alive, just not ready
        # Requests a load balancer still sends while draining are served.
        assert (await stack.echo("during-maintenance")).status == 200
        state = await stack.ops_get("/ops/maintenance")
        assert state["maintenance"] is True
        assert state["reason"] == "kernel update"
        report = await stack.ops_get("/ops/queues")
        assert report["gateway"]["ready"] is False
        assert report["gateway"]["reason"] == "maintenance mode"

        out_io = io.StringIO()
        assert maintenance_command(stack.settings, "off", "", out_io) == 0
        assert "maintenance off" in out_io.getvalue()
        assert (await stack.client.get("/readyz")).status == 200

        # The same switch over HTTP, for operators without a shell on the node.
        resp = await stack.client.put(
            "/ops/maintenance", json={"maintenance": True}, headers=stack.ops_headers
        )
        assert resp.status == 200
        assert (await stack.client.get("/readyz")).status == 503
        resp = await stack.client.put(
            "/ops/maintenance", json={"maintenance": False}, headers=stack.ops_headers
        )
        assert (await resp.json())["maintenance"] is False
        assert (await stack.client.get("/readyz")).status == 200
        assert not flag.exists()
