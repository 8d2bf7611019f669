"""Faults the request path survives: a broker restart, a killed worker, a gateway told to stop."""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.broker import BrokerPorts, LocalBroker
from mocks.settings import MockSettings
from tests.support.processes import lgsp_process, write_config
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, Stack, config_values, running_stack
from tests.support.waiting import free_port, wait_for_consumers, wait_until

VERIFY = "/v1/population/citizen-verify"


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[LocalBroker]:
    """A node of this test's own, so that stopping it disturbs no other test."""
    node = LocalBroker(
        tmp_path / "rabbitmq",
        BrokerPorts.free(),
        "lgsp",
        secrets.token_urlsafe(12),
        node_name=f"lgsp-restart-{os.getpid()}",
        management=False,
    )
    node.start()
    try:
        node.wait_ready()
        yield node
    finally:
        node.stop()


class OwnRabbit(Rabbit):
    @property
    def url(self) -> str:
        b = self.broker
        return f"amqp://{b.user}:{b.password}@127.0.0.1:{b.ports.amqp}/"


async def test_broker_restart_under_load(
    own_broker: LocalBroker,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
) -> None:
    rabbit = OwnRabbit(own_broker, vhost="/")
    async with running_stack(rabbit, mock_settings, generated) as stack:
        outcomes: list[int] = []
        stop = asyncio.Event()

        async def load() -> None:
            while not stop.is_set():
                resp = await asyncio.wait_for(stack.post(VERIFY, citizen), timeout=15)
                outcomes.append(resp.status)
                await asyncio.sleep(0.01)

        loaders = [asyncio.create_task(load()) for _ in range(4)]
        await asyncio.sleep(0.5)
        loop = asyncio.get_running_loop()
        # A restart as an operator does it (SIGTERM, then start). After a hard kill, RabbitMQ
        # 3.10's single-node quorum queues may take minutes to recover (docs/operating.md).
        await loop.run_in_executor(None, own_broker.stop)

        # While it is down: 503 quickly, with Retry-After.
        started = time.monotonic()
        resp = await stack.post(VERIFY, citizen)
        assert resp.status == 503
        assert "Retry-After" in resp.headers
        assert time.monotonic() - started < 3

        await loop.run_in_executor(None, own_broker.start)
        await loop.run_in_executor(None, own_broker.wait_ready)
        back = time.monotonic()
        async with asyncio.timeout(30):
            while (await stack.post(VERIFY, citizen)).status != 200:
                await asyncio.sleep(0.1)
        recovered_in = time.monotonic() - back
        stop.set()
        await asyncio.gather(*loaders)
        # Back to normal: every request succeeds again, with nothing restarted by hand.
        after = [(await stack.post(VERIFY, citizen)).status for _ in range(20)]

    assert recovered_in < 30
    # During the outage callers got 503 (or 504 for a request caught in flight), never a 500
    # and never a hang (each call above is bounded by asyncio.wait_for).
    assert set(outcomes) <= {200, 503, 504}, set(outcomes)
    assert after == [200] * 20


async def test_killed_worker_messages_are_redelivered_and_every_caller_gets_one_answer(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    async with running_stack(rabbit, mock_settings, generated, workers=False) as stack:
        # A small prefetch so that each worker holds some of the messages when one is killed.
        values = config_values(rabbit.url, stack.mock_urls, generated, worker={"prefetch": 2})
        config = write_config(tmp_path / "lgsp.toml", values)
        with (
            lgsp_process(config, "worker", "population", log=tmp_path / "a.log") as worker_a,
            lgsp_process(config, "worker", "population", log=tmp_path / "b.log"),
        ):
            await wait_for_consumers(stack, 2)
            await stack.faults("population", {"latency_ms": 1500})
            calls = [asyncio.create_task(stack.post(VERIFY, citizen)) for _ in range(8)]
            await wait_until(lambda: calls_reached(stack, 4))
            worker_a.send_signal(signal.SIGKILL)
            responses = await asyncio.wait_for(asyncio.gather(*calls), timeout=20)
            assert [r.status for r in responses] == [200] * 8
            for r in responses:
                assert (await r.json())["matched"] is True
            assert worker_a.wait(5) == -signal.SIGKILL
        # The killed worker's messages were redelivered to, and answered by, the other one.
        survivor = [json.loads(line) for line in (tmp_path / "b.log").read_text().splitlines()]
        assert any(e.get("event") == "message.handled" and e.get("redelivered") for e in survivor)


async def calls_reached(stack: Stack, n: int) -> bool:
    return await stack.central_calls() >= n


@pytest.fixture
async def gateway_process(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any], tmp_path: Path
) -> AsyncIterator[tuple[Any, str, Stack]]:
    port = free_port()
    async with running_stack(rabbit, mock_settings, generated) as stack:
        values = config_values(
            rabbit.url, stack.mock_urls, generated, gateway={"port": port, "shutdown_grace": 10.0}
        )
        config = write_config(tmp_path / "lgsp.toml", values)
        with lgsp_process(config, "gateway", log=tmp_path / "gateway.log") as process:
            base = f"http://127.0.0.1:{port}"
            async with aiohttp.ClientSession() as session, asyncio.timeout(30):
                while True:
                    try:
                        async with session.get(base + "/readyz") as resp:
                            if resp.status == 200:
                                break
                    except aiohttp.ClientConnectionError:
                        pass
                    await asyncio.sleep(0.1)
            yield process, base, stack


async def test_sigterm_finishes_in_flight_requests_then_exits_zero(
    gateway_process: tuple[Any, str, Stack], citizen: dict[str, Any]
) -> None:
    process, base, stack = gateway_process
    await stack.faults("population", {"latency_ms": 1000})
    worker = stack.workers["population"][0][0]
    headers = {**PURPOSE, "Authorization": f"Bearer {stack.token()}"}
    async with aiohttp.ClientSession() as session:
        in_flight = asyncio.create_task(session.post(base + VERIFY, json=citizen, headers=headers))

        async def worker_busy() -> bool:
            return worker.in_flight > 0

        await wait_until(worker_busy)
        process.send_signal(signal.SIGTERM)
        resp = await asyncio.wait_for(in_flight, timeout=15)
        assert resp.status == 200
        assert (await resp.json())["matched"] is True
        await asyncio.get_running_loop().run_in_executor(None, process.wait, 15)
        assert process.returncode == 0
        with pytest.raises(aiohttp.ClientConnectionError):
            await session.get(base + "/healthz")


def alive(pid: int) -> bool:
    return Path(f"/proc/{pid}").exists()


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


async def test_several_gateway_processes_share_the_port_and_stop_together(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    port = free_port()
    async with running_stack(rabbit, mock_settings, generated) as stack:
        values = config_values(rabbit.url, stack.mock_urls, generated, gateway={"port": port})
        config = write_config(tmp_path / "lgsp.toml", values)
        log = tmp_path / "gateway.log"
        with lgsp_process(config, "gateway", "--processes", "2", log=log) as parent:
            base = f"http://127.0.0.1:{port}"

            async def both_ready() -> bool:
                # Listening is not serving: each process is ready once its bus is connected
                # (consumer counts read), which it logs as `bus.connected`.
                text = log.read_text()
                return (
                    len(children_of(parent.pid)) == 1
                    and text.count("gateway.listening") == 2
                    and text.count("bus.connected") >= 2
                )

            await wait_until(both_ready, within=30)
            headers = {**PURPOSE, "Authorization": f"Bearer {stack.token()}"}
            statuses = []
            for _ in range(20):  # a new connection each time: the kernel spreads them
                async with (
                    aiohttp.ClientSession() as session,
                    session.post(base + VERIFY, json=citizen, headers=headers) as resp,
                ):
                    statuses.append(resp.status)
            assert statuses == [200] * 20
            child = children_of(parent.pid)[0]
            parent.send_signal(signal.SIGTERM)
            code = await asyncio.get_running_loop().run_in_executor(None, parent.wait, 30)
            assert code == 0
            assert not alive(child)  # the parent stopped its extra process and reaped it
