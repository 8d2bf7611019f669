"""A gateway and workers of a `probe` adapter on a real broker, for the operator-tool tests.

The probe adapter's central system is an in-process backend the test steers
(succeed, fail transiently then succeed, fail for good, crash), so queue
health, metrics and dead letters can be driven precisely without a mock
server. Everything else is real: RabbitMQ, the worker runtime, the gateway app,
client tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import aio_pika
import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from pydantic import BaseModel, ConfigDict

from adapters.errors import RecordNotFound, TransientError
from adapters.interface import Adapter, Context
from adapters.registry import Registry
from adapters.worker import Worker
from gateway.app import create_app
from gateway.http.operations import BUS
from gateway.security.clients import hash_secret
from schemas.config import AdapterSettings, Settings
from schemas.envelope import REQUESTS_EXCHANGE, Header
from tests.support.rabbit import Rabbit
from tests.support.stack import TEST_RETRY

PROBE = "probe"
PROBE_QUEUE = "lgsp.requests.probe"
CLIENT_ID = "ops-test-client"


class EchoRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    value: str
    mode: Literal["ok", "flaky", "missing", "crash"] = "ok"


class EchoResponse(BaseModel):
    value: str


@dataclass
class Backend:
    """The probe's 'central system': records calls; `crash` fails until `healed`."""

    calls: list[str] = field(default_factory=list)
    attempts: dict[str, int] = field(default_factory=dict)
    healed: bool = False
    called: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def echo(self, req: EchoRequest) -> EchoResponse:
        self.attempts[req.value] = self.attempts.get(req.value, 0) + 1
        if req.mode == "flaky" and self.attempts[req.value] == 1:
            raise TransientError("flaky: first attempt fails")
        if req.mode == "missing":
            raise RecordNotFound("no such record")
        if req.mode == "crash" and not self.healed:
            raise RuntimeError("a bug in the adapter")
        async with self.called:
            self.calls.append(req.value)
            self.called.notify_all()
        return EchoResponse(value=req.value)

    async def wait_calls(self, *values: str, within: float = 15.0) -> None:
        async with asyncio.timeout(within), self.called:
            await self.called.wait_for(lambda: all(v in self.calls for v in values))


def probe_adapter(backend: Backend) -> Adapter[Backend]:
    adapter: Adapter[Backend] = Adapter(
        PROBE, title="Probe", connect=lambda _session, _settings: backend
    )

    @adapter.operation("echo")
    async def echo(req: EchoRequest, ctx: Context[Backend]) -> EchoResponse:
        return await ctx.client.echo(req)

    return adapter


def ops_settings(rabbit: Rabbit, tmp: Path, **ops: Any) -> tuple[Settings, str, str]:
    """Settings for a probe stack; returns them with the operator token and a client secret."""
    token = secrets.token_urlsafe(16)
    client_secret = secrets.token_urlsafe(16)
    values: dict[str, Any] = {
        "token": token,
        "management_url": rabbit.broker.management_url,
        "maintenance_file": str(tmp / "maintenance"),
        **ops,
    }
    settings = Settings(
        bus={
            "url": rabbit.url,
            "consumer_check_interval": 0.2,
            "reconnect_max_delay": 0.5,
            "delivery_limit": 1,
        },
        gateway={"default_timeout": 10.0, "shutdown_grace": 5.0},
        adapters={PROBE: AdapterSettings(retry=TEST_RETRY)},
        ops=values,
        auth={
            "keys_dir": str(tmp / "keys"),
            "clients": {
                CLIENT_ID: {"secret_hash": hash_secret(client_secret), "allow": [f"{PROBE}/*"]}
            },
        },
        audit={"store": str(tmp / "audit.sqlite3"), "spool_dir": str(tmp / "audit-spool")},
    )
    return settings, token, client_secret


@dataclass
class OpsStack:
    settings: Settings
    registry: Registry
    backend: Backend
    app: web.Application
    client: TestClient[web.Request, web.Application]
    rabbit: Rabbit
    ops_token: str
    client_secret: str
    workers: list[tuple[Worker, asyncio.Task[None]]] = field(default_factory=list)
    _client_token: str | None = None

    @property
    def ops_headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.ops_token}"}

    async def start_worker(self) -> Worker:
        adapter = self.registry.adapter(PROBE)
        assert adapter is not None
        worker = Worker(adapter, self.settings, sleep=_no_sleep)
        task = asyncio.create_task(worker.run())
        self.workers.append((worker, task))
        async with asyncio.timeout(15):
            await worker.connected.wait()
        return worker

    async def stop_workers(self) -> None:
        while self.workers:
            worker, task = self.workers.pop()
            worker.stop()
            await asyncio.wait_for(task, 15)

    async def wait_ready(self, within: float = 15.0) -> None:
        bus = self.app[BUS]
        async with asyncio.timeout(within):
            await bus.connected.wait()
            while not bus.ready()[0]:
                await bus.refresh_consumers()
                await asyncio.sleep(0.05)

    async def app_bus_refresh(self) -> None:
        """Make the gateway look at consumer counts now rather than at its next check."""
        await self.app[BUS].refresh_consumers()

    async def client_token(self) -> str:
        if self._client_token is None:
            resp = await self.client.post(
                "/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": CLIENT_ID,
                    "client_secret": self.client_secret,
                },
            )
            assert resp.status == 200, await resp.text()
            self._client_token = (await resp.json())["access_token"]
        assert self._client_token is not None
        return self._client_token

    async def echo(self, value: str, mode: str = "ok") -> aiohttp.ClientResponse:
        token = await self.client_token()
        return await self.client.post(
            f"/v1/{PROBE}/echo",
            json={"value": value, "mode": mode},
            headers={"Authorization": f"Bearer {token}"},
        )

    async def ops_get(self, path: str) -> Any:
        resp = await self.client.get(path, headers=self.ops_headers)
        assert resp.status == 200, await resp.text()
        return await resp.json()

    async def queue_report(self, until: Any, within: float = 20.0) -> dict[str, Any]:
        """Poll /ops/queues until `until(report)` holds (management stats lag a few seconds)."""
        deadline = time.monotonic() + within
        while True:
            report: dict[str, Any] = await self.ops_get("/ops/queues")
            if until(report):
                return report
            if time.monotonic() > deadline:
                raise AssertionError(f"queue report never matched: {report}")
            await asyncio.sleep(0.25)

    async def publish_raw(
        self,
        body: bytes,
        *,
        message_id: str,
        type_: str = f"{PROBE}/echo",
        deadline_in: float = 60.0,
        expiration: float | None = None,
        headers: dict[str, Any] | None = None,
    ) -> None:
        """Publish a request straight onto the bus, as a gateway would (or a broken one)."""
        connection = await aio_pika.connect(self.rabbit.url)
        async with connection:
            channel = await connection.channel(publisher_confirms=True)
            exchange = await channel.get_exchange(REQUESTS_EXCHANGE)
            await exchange.publish(
                aio_pika.Message(
                    body,
                    content_type="application/json",
                    message_id=message_id,
                    correlation_id=message_id,
                    type=type_,
                    expiration=expiration,
                    headers={Header.DEADLINE: int((time.time() + deadline_in) * 1000)}
                    | (headers or {}),
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                ),
                routing_key=PROBE,
                mandatory=True,
            )


async def _no_sleep(_seconds: float) -> None:
    return None


@contextlib.asynccontextmanager
async def ops_stack(
    rabbit: Rabbit, tmp: Path, *, workers: int = 1, **ops: Any
) -> AsyncIterator[OpsStack]:
    settings, token, client_secret = ops_settings(rabbit, tmp, **ops)
    backend = Backend()
    registry = Registry([probe_adapter(backend)])
    app = create_app(settings, registry)
    client: TestClient[web.Request, web.Application] = TestClient(TestServer(app))
    await client.start_server()
    stack = OpsStack(settings, registry, backend, app, client, rabbit, token, client_secret)
    try:
        for _ in range(workers):
            await stack.start_worker()
        if workers:
            await stack.wait_ready()
        yield stack
    finally:
        await stack.stop_workers()
        await client.close()
