"""State shared across gateway processes: a client's rate limit, and the view of the deployment.

Three `lgsp gateway` processes on the cluster tell each other what they let
through (`lgsp.gossip`). A client allowed `RATE` requests a second (bursts of
`BURST`) then gets, over `WINDOW` seconds, about BURST + RATE × WINDOW calls
past the limiter in total, whether its connections are spread over the three
gateways or all pinned to one; without sharing, spread connections would get
three times that. The calls are refused right after the limiter (a body that
fails validation: 422) so that the test measures the limiter, not the bus.
"""

from __future__ import annotations

import asyncio
import itertools
import secrets
import time
from collections import Counter
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from gateway.cluster import LocalCluster
from mocks.settings import MockSettings
from tests.support.cluster import ClusterRabbit
from tests.support.gateways import gateway_processes
from tests.support.stack import PURPOSE, TEST_CLIENT, config_values, running_stack

pytestmark = pytest.mark.cluster
RATE, BURST, WINDOW = 40.0, 20, 6.0
METERED = "metered"
VERIFY = "/v1/population/citizen-verify"


async def hammer(bases: list[str], token: str, callers: int, window: float) -> Counter[int]:
    """`callers` callers, each on its own connection to one of `bases` in turn, as fast as
    they can for `window` seconds; the statuses they got."""
    statuses: Counter[int] = Counter()
    end = time.monotonic() + window
    headers = {**PURPOSE, "Authorization": f"Bearer {token}"}

    async def caller(base: str) -> None:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            while time.monotonic() < end:
                async with session.post(base + VERIFY, json={}, headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] += 1

    targets = itertools.islice(itertools.cycle(bases), callers)
    await asyncio.gather(*(caller(base) for base in targets))
    return statuses


async def test_a_clients_rate_limit_holds_across_three_gateways_within_ten_percent(
    crabbit: ClusterRabbit,
    cluster: LocalCluster,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    tmp_path: Path,
) -> None:
    operator = secrets.token_urlsafe(16)
    clients = {
        TEST_CLIENT: {"allow": ["*/*#*"], "rate_limit": {"rate": 1e4, "burst": 10000}},
        METERED: {"allow": ["*/*#*"], "rate_limit": {"rate": RATE, "burst": BURST}},
    }
    async with running_stack(crabbit, mock_settings, generated, bus=crabbit.bus()) as stack:  # type: ignore[arg-type]
        values = config_values(
            crabbit.url,
            stack.mock_urls,
            generated,
            bus=crabbit.bus(),
            auth={"clients": clients},
            ops={"token": operator, "management_url": cluster.nodes[0].management_url},
        )
        async with gateway_processes(values, 3, tmp_path) as gateways:
            bases = [base for _, base in gateways]
            await wait_for_peers(bases, operator, 3)
            token = stack.token(METERED)
            spread = await hammer(bases, token, 6, WINDOW)
            await asyncio.sleep(BURST / RATE + 1)  # the bucket refills: the next run starts full
            pinned = await hammer(bases[:1], token, 6, WINDOW)
            view = await get_json(bases[1], "/ops/cluster", operator)
            through = sum(n for s, n in (spread + pinned).items() if s != 429)
            services = await wait_for_rejected(bases[2], operator, through)
    expected = BURST + RATE * WINDOW
    passed_spread = sum(n for status, n in spread.items() if status != 429)
    passed_pinned = sum(n for status, n in pinned.items() if status != 429)
    print(  # the figures behind the verdict, shown with -s
        f"rate limit {RATE:g}/s burst {BURST} over {WINDOW:g} s: expected {expected:g}; "
        f"spread over 3 gateways {passed_spread} ({dict(spread)}), pinned to one "
        f"{passed_pinned} ({dict(pinned)})"
    )
    assert spread[429] > 0
    assert abs(passed_spread - expected) <= 0.1 * expected, (passed_spread, expected)
    assert abs(passed_pinned - expected) <= 0.1 * expected, (passed_pinned, expected)
    # The view of the deployment: three nodes, healthy; every gateway; every process.
    assert sorted(n["name"] for n in view["nodes"]) == sorted(n.node for n in cluster.nodes)
    assert {n["verdict"] for n in view["nodes"]} == {"ok"}
    assert len(view["gateways"]) == 4  # the three processes and this test's in-process one
    names = [p["name"] for p in view["processes"]]
    assert sum(name.startswith("lgsp-gateway-") for name in names) >= 3
    for adapter in ("population", "business", "insurance"):
        assert any(name.startswith(f"lgsp-worker-{adapter}-") for name in names), names
    assert {p["node"] for p in view["processes"]} <= {n.node for n in cluster.nodes}
    # Service statistics summed over the three gateways: every call the limiter let through
    # and refused at validation is a rejected call of citizen-verify somewhere.
    assert services["gateways"] == 4


async def wait_for_rejected(base: str, operator: str, n: int) -> dict[str, Any]:
    """Until one gateway's /ops/services counts `n` rejected citizen-verify calls in all
    (each gateway's figures reach the others with its next report)."""
    async with asyncio.timeout(10):
        while True:
            services: dict[str, Any] = await get_json(base, "/ops/services", operator)
            found = [s for s in services["services"] if s["operation"] == "citizen-verify"]
            if found and found[0]["rejected"] >= n:
                return services
            await asyncio.sleep(0.1)


async def get_json(base: str, path: str, operator: str) -> Any:
    async with (
        aiohttp.ClientSession() as session,
        session.get(base + path, headers={"Authorization": f"Bearer {operator}"}) as resp,
    ):
        assert resp.status == 200, await resp.text()
        return await resp.json()


async def wait_for_peers(bases: list[str], operator: str, peers: int) -> None:
    """Until every gateway has heard from the others."""
    async with asyncio.timeout(20):
        for base in bases:
            while len((await get_json(base, "/ops/cluster", operator))["gateways"]) < peers + 1:
                await asyncio.sleep(0.1)
