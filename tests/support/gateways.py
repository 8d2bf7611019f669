"""Several `lgsp gateway` processes side by side, each on its own port, for cluster tests."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.processes import lgsp_process, write_config
from tests.support.waiting import free_port


@contextlib.asynccontextmanager
async def gateway_processes(
    values: dict[str, Any], count: int, tmp_path: Path, *, name: str = "gw"
) -> AsyncIterator[list[tuple[subprocess.Popen[bytes], str]]]:
    """`count` gateways from the same settings but their own port; ready when yielded."""
    started: list[tuple[subprocess.Popen[bytes], str]] = []
    with contextlib.ExitStack() as stack:
        for i in range(count):
            port = free_port()
            gateway = {**values.get("gateway", {}), "port": port}
            config = write_config(tmp_path / f"{name}{i}.toml", {**values, "gateway": gateway})
            process = stack.enter_context(
                lgsp_process(config, "gateway", log=tmp_path / f"{name}{i}.log")
            )
            started.append((process, f"http://127.0.0.1:{port}"))
        await asyncio.gather(*(wait_ready(base, process) for process, base in started))
        yield started


async def wait_ready(base: str, process: subprocess.Popen[bytes], within: float = 40.0) -> None:
    async with aiohttp.ClientSession() as session, asyncio.timeout(within):
        while True:
            assert process.poll() is None, f"the gateway on {base} exited"
            with contextlib.suppress(aiohttp.ClientConnectionError):
                async with session.get(base + "/readyz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
