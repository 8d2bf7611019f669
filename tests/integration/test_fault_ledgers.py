"""The fault suite: each fault under a bounded load, each with its printed ledger and one bar.

Every test drives 120 calls (half of them writes, each with its own
Idempotency-Key) at an even pace over 7 s through a real stack, injects its
fault 2 s in, clears it, lets callers retry what was left open with the same
key, and holds the ledger (tests/support/fault_ledger.py) to: lost = 0,
duplicated = 0, 0 hung, audit records = answered calls with the statuses the
callers got, and no 503 "not done" that was done. Broker faults run on a node
of this module's own, so that no other test sees them.
"""

from __future__ import annotations

import asyncio
import contextlib
import glob
import json
import os
import secrets
import signal
import subprocess
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import aio_pika
import aiohttp
import pytest

from gateway.audit.store import AuditStore
from gateway.broker import BrokerPorts, LocalBroker, port_open
from gateway.http.operations import BUS
from mocks.settings import MockSettings
from schemas.envelope import request_queue
from tests.integration.security_support import audit_writer
from tests.support.fault_ledger import FaultLedger
from tests.support.processes import lgsp_process, write_config
from tests.support.rabbit import Rabbit
from tests.support.stack import Stack, config_values, running_stack
from tests.support.waiting import free_port, wait_for_consumers, wait_until

TOTAL, DURATION, FAULT_AT = 120, 7.0, 2.0
# Shorter waits than the defaults so that a 7 s load sees several of them.
FAST: dict[str, Any] = {"bus": {"publish_timeout": 1.0}, "audit": {"publish_timeout": 1.0}}
CTL_GLOB = "/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmqctl"


@pytest.fixture(scope="module")
def fault_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A node for the broker faults alone (killed, paused, alarmed), stopped after them."""
    node = LocalBroker(
        tmp_path_factory.mktemp("fault-rabbitmq"),
        BrokerPorts.free(),
        "lgsp",
        secrets.token_urlsafe(12),
        node_name=f"lgsp-faults-{os.getpid()}",
    )
    node.start()
    try:
        node.wait_ready()
        yield node
    finally:
        node.stop()


@pytest.fixture
def fault_rabbit(fault_broker: LocalBroker) -> Iterator[Rabbit]:
    rabbit = Rabbit(fault_broker, vhost=f"f-{secrets.token_hex(5)}")
    rabbit.create_vhost()
    try:
        yield rabbit
    finally:
        rabbit.delete_vhost()


def rabbitmqctl(broker: LocalBroker, *args: str) -> None:
    ctl = sorted(glob.glob(CTL_GLOB))[-1]
    subprocess.run(
        [ctl, "-n", f"{broker.node_name}@localhost", *args],
        env=broker.environment(), check=True, capture_output=True, timeout=60,
    )  # fmt: skip


def signal_broker(broker: LocalBroker, sig: signal.Signals) -> None:
    assert broker.process is not None
    os.killpg(broker.process.pid, sig)


def kill_and_restart(broker: LocalBroker) -> None:
    broker.kill()
    deadline = time.monotonic() + 15
    while port_open(broker.ports.amqp) or port_open(broker.ports.dist):
        assert time.monotonic() < deadline, "the killed node's ports stay open"
        time.sleep(0.05)
    broker.start()
    broker.wait_ready()


@contextlib.asynccontextmanager
async def quiet_check(stack: Stack) -> AsyncIterator[Callable[[], Awaitable[bool]]]:
    """A check that nothing is in flight: population consumed, its queue empty, no caller
    waiting for a reply."""
    holder: dict[str, Any] = {}

    async def quiet() -> bool:
        bus = stack.app[BUS]
        if not bus.connected.is_set() or bus.in_flight:
            return False
        try:
            if "channel" not in holder:
                url = stack.settings.bus.url.get_secret_value()
                holder["connection"] = await aio_pika.connect(url)
                holder["channel"] = await holder["connection"].channel()
            queue = await holder["channel"].declare_queue(request_queue("population"), passive=True)
        except (aio_pika.exceptions.AMQPError, OSError):
            holder.clear()
            return False
        result = queue.declaration_result
        return (result.consumer_count or 0) > 0 and (result.message_count or 0) == 0

    try:
        yield quiet
    finally:
        if "connection" in holder:
            with contextlib.suppress(Exception):
                await holder["connection"].close()


async def run_scenario(
    name: str,
    stack: Stack,
    citizen: dict[str, Any],
    store: AuditStore,
    fault: Callable[[], Awaitable[None]],
) -> FaultLedger:
    """The load, the fault on its own timeline beside it, the settling and the ledger."""
    ledger = FaultLedger(name, stack, citizen)
    load = asyncio.create_task(ledger.load(TOTAL, DURATION))
    await asyncio.sleep(FAULT_AT)  # the fault's place in the load's schedule
    await fault()
    await load
    async with quiet_check(stack) as quiet:
        await ledger.settle(quiet, within=90)
    await ledger.collect(store)
    ledger.check()
    return ledger


async def held(seconds: float) -> None:
    await asyncio.sleep(seconds)  # how long the fault lasts: the scenario's parameter


# -- broker faults -------------------------------------------------------------------------


async def broker_scenario(
    name: str,
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
    fault: Callable[[], Awaitable[None]],
    latency_ms: int = 0,
) -> FaultLedger:
    async with (
        running_stack(rabbit, mock_settings, generated, **FAST) as stack,
        audit_writer(stack.settings, tmp_path / "audit.sqlite3") as writer,
    ):
        if latency_ms:  # so that the fault finds calls in flight at the central system
            await stack.faults("population", {"latency_ms": latency_ms})
        return await run_scenario(name, stack, citizen, writer.store, fault)


async def test_broker_killed_and_restarted(
    fault_rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    broker = fault_rabbit.broker

    async def fault() -> None:
        await asyncio.to_thread(kill_and_restart, broker)

    await broker_scenario(
        "broker SIGKILL (calls in flight), restart", fault_rabbit, mock_settings, generated,
        citizen, tmp_path, fault, latency_ms=300,
    )  # fmt: skip


async def test_broker_paused_longer_than_the_deadline(
    fault_rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    broker = fault_rabbit.broker

    async def fault() -> None:
        signal_broker(broker, signal.SIGSTOP)
        try:
            await held(4.0)  # longer than the 3 s deadline
        finally:
            signal_broker(broker, signal.SIGCONT)

    ledger = await broker_scenario(
        "broker SIGSTOP 4s, SIGCONT", fault_rabbit, mock_settings, generated, citizen, tmp_path,
        fault,
    )  # fmt: skip
    assert any(a.problem == "outcome-unknown" for a in ledger.answers)


async def test_broker_memory_alarm(
    fault_rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    broker = fault_rabbit.broker

    async def fault() -> None:
        await asyncio.to_thread(rabbitmqctl, broker, "set_vm_memory_high_watermark", "0.0000001")
        try:
            await held(3.0)
        finally:
            await asyncio.to_thread(rabbitmqctl, broker, "set_vm_memory_high_watermark", "0.4")

    await broker_scenario(
        "broker memory alarm 3s", fault_rabbit, mock_settings, generated, citizen, tmp_path, fault
    )


async def test_broker_disk_alarm(
    fault_rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    broker = fault_rabbit.broker

    async def fault() -> None:
        await asyncio.to_thread(rabbitmqctl, broker, "set_disk_free_limit", "100000GB")
        try:
            await held(3.0)
        finally:
            await asyncio.to_thread(rabbitmqctl, broker, "set_disk_free_limit", "50MB")

    await broker_scenario(
        "broker disk alarm 3s", fault_rabbit, mock_settings, generated, citizen, tmp_path, fault
    )


# -- process faults ------------------------------------------------------------------------


async def test_a_worker_killed(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    async with (
        running_stack(rabbit, mock_settings, generated, workers=False, **FAST) as stack,
        audit_writer(stack.settings, tmp_path / "audit.sqlite3") as writer,
    ):
        values = config_values(rabbit.url, stack.mock_urls, generated, worker={"prefetch": 4})
        config = write_config(tmp_path / "lgsp.toml", values)
        metrics = free_port()
        with (
            lgsp_process(
                config, "worker", "population", "--metrics-port", str(metrics),
                log=tmp_path / "a.log",
            ) as victim,
            lgsp_process(config, "worker", "population", log=tmp_path / "b.log"),
        ):  # fmt: skip
            await stack.faults("population", {"latency_ms": 300})  # each worker holds some
            await wait_for_consumers(stack, 2)

            async def holding() -> bool:
                async with (
                    aiohttp.ClientSession() as session,
                    session.get(f"http://127.0.0.1:{metrics}/metrics") as resp,
                ):
                    text = await resp.text()
                return any(
                    line.startswith("lgsp_worker_in_flight") and float(line.split()[-1]) > 0
                    for line in text.splitlines()
                )

            async def fault() -> None:
                await wait_until(holding, within=5)  # killed with messages in hand
                victim.send_signal(signal.SIGKILL)
                await asyncio.to_thread(victim.wait, 10)

            await run_scenario("a worker SIGKILL", stack, citizen, writer.store, fault)
        # The fault hit work in hand: the survivor was given the killed worker's messages.
        survivor = [json.loads(line) for line in (tmp_path / "b.log").read_text().splitlines()]
        assert any(e.get("event") == "message.handled" and e.get("redelivered") for e in survivor)


async def test_the_audit_writer_killed(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    path = tmp_path / "audit.sqlite3"
    audit = {**generated["audit"], "store": str(path), "publish_timeout": 1.0}
    async with running_stack(rabbit, mock_settings, generated, **FAST) as stack:
        values = config_values(rabbit.url, stack.mock_urls, generated, audit=audit)
        config = write_config(tmp_path / "lgsp.toml", values)
        store = AuditStore(path, audit["chain_key"].encode())
        try:
            with contextlib.ExitStack() as processes:
                first = processes.enter_context(
                    lgsp_process(config, "audit-writer", log=tmp_path / "w1.log")
                )

                async def fault() -> None:
                    first.send_signal(signal.SIGKILL)
                    await asyncio.to_thread(first.wait, 10)
                    await held(2.0)  # events wait in lgsp.audit meanwhile
                    processes.enter_context(
                        lgsp_process(config, "audit-writer", log=tmp_path / "w2.log")
                    )

                await run_scenario("the audit writer SIGKILL", stack, citizen, store, fault)
                assert first.returncode == -signal.SIGKILL
        finally:
            store.close()


# -- central-system faults -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "faults", "seconds"),
    [
        ("central hung (every call held) 4.5s", {"hang_rate": 1.0, "hang_max_s": 8}, 4.5),
        ("central failing (every call 503) 3s", {"error_rate": 1.0}, 3.0),
        ("central slow (2-3.5 s a call) 3s", {"latency_ms": 2000, "latency_jitter_ms": 1500}, 3.0),
    ],
)
async def test_a_central_system_hung_failing_or_slow(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
    name: str,
    faults: dict[str, Any],
    seconds: float,
) -> None:
    async with (
        running_stack(rabbit, mock_settings, generated, **FAST) as stack,
        audit_writer(stack.settings, tmp_path / "audit.sqlite3") as writer,
    ):

        async def fault() -> None:
            await stack.faults("population", faults)
            try:
                await held(seconds)
            finally:
                await stack.faults("population", None)

        await run_scenario(name, stack, citizen, writer.store, fault)
