"""The whole request path in one test process: mocks, workers and the gateway, on a real broker.

`running_stack` starts the mock central systems of the adapters under test
(real HTTP servers over the test data set, from the `lgsp.mocks` entry points),
one in-process `Worker` per adapter and the gateway app behind aiohttp's test
server, all on the test's own virtual host. Only the adapters named are
configured, served and given a worker: another installed adapter package is
invisible to the stack. The `lgsp` pytest plugin (`gateway.testing.plugin`)
wraps it in the `lgsp_stack` fixture; this project's tests use it too.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from adapters.registry import Registry
from adapters.worker import Worker
from gateway.app import create_app
from gateway.http.operations import BUS
from gateway.security.authentication import AUTHENTICATOR
from gateway.testing.rabbit import Rabbit
from mocks.server import start as start_mock
from mocks.server import systems as mock_systems
from mocks.settings import MockSettings
from schemas.config import BreakerSettings, RetrySettings, Settings

# A well-formed purpose trail, sent by default: personal-data operations require one.
PURPOSE = {
    "LGSP-Officer-Id": "CB-HP-0042",
    "LGSP-Procedure-Code": "1.001612",
    "LGSP-Case-Id": "HS-2026-000123",
}

TEST_CLIENT = "tests"


@functools.cache
def test_keys_dir() -> Path:
    """Token signing keys for this test session (generated on first use, removed at exit)."""
    path = Path(tempfile.mkdtemp(prefix="lgsp-test-keys-"))
    atexit.register(shutil.rmtree, path, True)
    return path


def spool_dir() -> Path:
    """An audit spool directory of its own (removed at exit)."""
    path = Path(tempfile.mkdtemp(prefix="lgsp-spool-"))
    atexit.register(shutil.rmtree, path, True)
    return path


# Fast retries in tests: behaviour is what we check, not waiting.
TEST_RETRY = RetrySettings(attempts=12, initial_backoff=0.01, max_backoff=0.05, jitter=0.01)
# A breaker that a request's whole retry budget cannot trip: tests of the retry policy see it
# alone; tests/integration/test_breaker.py gives its workers the breakers it examines.
TEST_BREAKER = BreakerSettings(failure_threshold=50, min_calls=50)


def config_values(
    bus_url: str,
    mock_urls: dict[str, str],
    generated: dict[str, Any],
    **overrides: Any,
) -> dict[str, Any]:
    """Plain settings values (for `Settings(**values)` or a TOML file for subprocesses)."""
    values: dict[str, Any] = {
        "bus": {"url": bus_url, "consumer_check_interval": 0.2, "reconnect_max_delay": 0.5},
        "gateway": {"default_timeout": 10.0, "shutdown_grace": 5.0},
        # One client with every right and a generous limit; token-less calls use stack.client.
        "auth": {
            "keys_dir": str(test_keys_dir()),
            "clients": {
                TEST_CLIENT: {"allow": ["*/*#*"], "rate_limit": {"rate": 1e4, "burst": 10000}}
            },
        },
        # A spool of this stack's own: a test's leftovers are never drained into another's.
        "audit": {**generated["audit"], "spool_dir": str(spool_dir())},
        "adapters": {
            name: {
                "base_url": url,
                "credentials": generated["adapters"].get(name, {}).get("credentials", {}),
                "retry": TEST_RETRY.model_dump(),
                "breaker": TEST_BREAKER.model_dump(),
            }
            for name, url in mock_urls.items()
        },
    }
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(values.get(key), dict):
            values[key] = {**values[key], **value}
        else:
            values[key] = value
    return values


def make_settings(
    bus_url: str, mock_urls: dict[str, str], generated: dict[str, Any], **overrides: Any
) -> Settings:
    return Settings(**config_values(bus_url, mock_urls, generated, **overrides))


@dataclass
class Stack:
    settings: Settings
    registry: Registry
    app: web.Application
    client: TestClient[web.Request, web.Application]
    mock_urls: dict[str, str]
    workers: dict[str, list[tuple[Worker, asyncio.Task[None]]]] = field(default_factory=dict)

    async def start_worker(
        self, adapter: str = "population", settings: Settings | None = None
    ) -> Worker:
        """One more worker for `adapter`, with the stack's settings unless given others."""
        found = self.registry.adapter(adapter)
        assert found is not None
        worker = Worker(found, settings or self.settings)
        task = asyncio.create_task(worker.run())
        self.workers.setdefault(adapter, []).append((worker, task))
        connected = asyncio.create_task(worker.connected.wait())
        done, _ = await asyncio.wait({connected, task}, timeout=15, return_when="FIRST_COMPLETED")
        if task in done:
            connected.cancel()
            task.result()  # raise what made it stop
        assert connected in done, "worker did not connect in time"
        return worker

    async def stop_workers(self, adapter: str | None = None) -> None:
        for name in [adapter] if adapter else list(self.workers):
            for worker, task in self.workers.pop(name, []):
                worker.stop()
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(task, 15)

    async def app_bus_connected(self, within: float = 15.0) -> None:
        bus = self.app[BUS]
        async with asyncio.timeout(within):
            await bus.connected.wait()
            await bus.refresh_consumers()

    async def wait_ready(self, within: float = 15.0) -> None:
        """Until /readyz says ready (the bus is connected and every queue has a consumer)."""
        bus = self.app[BUS]
        async with asyncio.timeout(within):
            await bus.connected.wait()
            while not bus.ready()[0]:
                await bus.refresh_consumers()
                await asyncio.sleep(0.05)

    async def post(
        self, path: str, body: Any, headers: dict[str, str] | None = None
    ) -> aiohttp.ClientResponse:
        auth = {"Authorization": f"Bearer {self.token()}"}
        return await self.client.post(
            path, json=body, headers={**auth, **PURPOSE, **(headers or {})}
        )

    def token(self, client_id: str = TEST_CLIENT) -> str:
        """A fresh access token, signed by the gateway's own key ring."""
        return self.app[AUTHENTICATOR].tokens.issue(client_id)

    async def faults(self, system: str, config: dict[str, Any] | None) -> None:
        async with aiohttp.ClientSession() as s:
            url = f"{self.mock_urls[system]}/_admin/faults"
            if config is None:
                async with s.delete(url) as resp:
                    assert resp.status < 300
            else:
                async with s.put(url, json=config) as resp:
                    assert resp.status < 300, await resp.text()

    async def central_calls(self, system: str = "population") -> int:
        """How many calls reached the mock's handlers (faulted-away calls are not counted)."""
        stats = await self.mock_stats(system)
        return sum(op["calls"] for op in stats["operations"].values())

    async def mock_stats(self, system: str) -> dict[str, Any]:
        async with (
            aiohttp.ClientSession() as s,
            s.get(f"{self.mock_urls[system]}/_admin/stats") as r,
        ):
            stats: dict[str, Any] = await r.json()
            return stats


@contextlib.asynccontextmanager
async def running_mocks(
    mock_settings: MockSettings, systems: Iterable[str]
) -> AsyncIterator[dict[str, str]]:
    runners: list[web.AppRunner] = []
    urls: dict[str, str] = {}
    try:
        for system in systems:
            runner, port = await start_mock(system, mock_settings)
            runners.append(runner)
            urls[system] = f"http://127.0.0.1:{port}"
        yield urls
    finally:
        for runner in runners:
            await runner.cleanup()


@contextlib.asynccontextmanager
async def running_stack(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    *,
    adapters: Iterable[str] | None = None,
    workers: bool = True,
    ready: bool = True,
    **overrides: Any,
) -> AsyncIterator[Stack]:
    """The stack of `adapters` (default: every installed adapter), each with its own mock."""
    names = None if adapters is None else list(adapters)
    registry = Registry.discover(names)
    if names is not None and (missing := set(names) - set(registry.names)):
        raise LookupError(f"no installed adapter named {', '.join(sorted(missing))}")
    systems = [name for name in registry.names if name in mock_systems()]
    async with running_mocks(mock_settings, systems) as urls:
        settings = make_settings(rabbit.url, urls, generated, **overrides)
        app = create_app(settings, registry)
        client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
        await client.start_server()
        stack = Stack(settings, registry, app, client, urls)
        try:
            if workers:
                for name in registry.names:
                    await stack.start_worker(name)
                if ready:
                    await stack.wait_ready()
            yield stack
        finally:
            await stack.stop_workers()
            await client.close()
