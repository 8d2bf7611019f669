"""A gateway process killed under load, with another one beside it on the same cluster."""

from __future__ import annotations

import asyncio
import signal
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from gateway.cluster import LocalCluster
from mocks.settings import MockSettings
from tests.support.cluster import ClusterRabbit, quote
from tests.support.gateways import gateway_processes
from tests.support.stack import config_values, running_stack
from tests.support.write_load import (
    CONNECTION_ERROR,
    Accounts,
    Ledger,
    WriteLoad,
    account,
    status_line,
)

pytestmark = pytest.mark.cluster


async def test_a_killed_gateway_drops_its_callers_and_the_other_keeps_serving(
    crabbit: ClusterRabbit,
    cluster: LocalCluster,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
    tmp_path: Path,
) -> None:
    bus = crabbit.bus()
    # The workers (in this process) and the two gateway processes, all on the cluster.
    async with running_stack(crabbit, mock_settings, generated, bus=bus) as stack:  # type: ignore[arg-type]
        values = config_values(crabbit.url, stack.mock_urls, generated, bus=bus)
        async with gateway_processes(values, 2, tmp_path) as gateways:
            (killed, a), (_, b) = gateways
            # Each call spends a while at the central system: some are in flight at the kill.
            await stack.faults("population", {"latency_ms": 200})
            accounts = Accounts(crabbit, stack.mock_urls["population"])
            load = WriteLoad([a, b], stack.token(), citizen, callers=3, deadline=5.0)
            load.start()
            await load.wait_answers(20)
            at = load.mark("kill")
            killed.send_signal(signal.SIGKILL)
            await asyncio.to_thread(killed.wait, 10)
            await load.wait_answers(20, since=at)
            await load.stop()
            await stack.faults("population", None)
            on_a = load_outcomes(load, a, at)
            on_b = load_outcomes(load, b, at)
            ledger = Ledger("gateway SIGKILL: one of two gateway processes, 3 callers each", load)
            ledger.add(
                f"after the kill: on the killed gateway {status_line(on_a)}; "
                f"on the other {status_line(on_b)}"
            )
            figures = await account(ledger, accounts, b)
            replies = await asyncio.to_thread(
                crabbit.api, "GET", f"/api/queues/{quote(crabbit.vhost)}"
            )
            left = {
                q["name"]: q.get("messages", 0)
                for q in replies
                if q["name"].startswith("lgsp.replies.")
            }
            ledger.add(f"reply queues (they expire 60 s after their gateway left): {left}")
            ledger.publish()
    assert set(on_a) <= {"200", CONNECTION_ERROR}, on_a  # never a wrong answer
    assert on_a[CONNECTION_ERROR] > 0, on_a
    assert set(on_b) == {"200"}, on_b  # the other gateway served every call
    assert figures["lost"] == 0
    assert figures["answered_not_stored"] == 0
    assert figures["stored_after"] == figures["keys"]
    assert (figures["ready"], figures["unacked"]) == (0, 0)


def load_outcomes(load: WriteLoad, gateway: str, since: float) -> Counter[str]:
    return Counter(c.outcome for c in load.calls if c.gateway == gateway and c.ended >= since)
