"""Circuit breakers on the real path: a dead central system is answered at once, then recovers.

Attempts are counted where they land, at the population mock (its fault counters:
`/_admin/faults/injected`), and each worker here has the breaker the test
examines (the stack's default breaker is one a retry budget cannot trip).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from adapters.breaker import BreakerState
from adapters.worker import Worker
from mocks.settings import MockSettings
from schemas.config import BreakerSettings, RetrySettings
from schemas.problems import ProblemType
from tests.support.rabbit import Rabbit
from tests.support.stack import Stack, running_stack
from tests.support.waiting import wait_until

VERIFY = "/v1/population/citizen-verify"
# The population adapter's own budget (8 attempts), with waits short enough for a test.
EIGHT = RetrySettings(attempts=8, initial_backoff=0.01, max_backoff=0.05, jitter=0.01)
FAST = 0.5  # seconds: a refusal never waits for the central system
OPS_TOKEN = secrets.token_urlsafe(24)


@pytest.fixture
async def stack(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any]
) -> AsyncIterator[Stack]:
    """The whole path, with an operator token to read /ops/services."""
    async with running_stack(rabbit, mock_settings, generated, ops={"token": OPS_TOKEN}) as running:
        yield running


async def use_worker(stack: Stack, breaker: BreakerSettings) -> Worker:
    """Replace the population worker by one with this breaker and the adapter's 8 attempts."""
    await stack.stop_workers("population")
    adapters = dict(stack.settings.adapters)
    adapters["population"] = adapters["population"].model_copy(
        update={"retry": EIGHT, "breaker": breaker}
    )
    worker = await stack.start_worker(
        "population", stack.settings.model_copy(update={"adapters": adapters})
    )
    await stack.wait_ready()
    return worker


async def injected(stack: Stack, kind: str) -> int:
    """How many requests the mock's fault injection answered (each is one attempt)."""
    async with (
        aiohttp.ClientSession() as s,
        s.get(f"{stack.mock_urls['population']}/_admin/faults/injected") as resp,
    ):
        counts: dict[str, Any] = await resp.json()
    return int(counts["injected"].get(kind, 0))


async def refused_fast(stack: Stack, citizen: dict[str, Any]) -> aiohttp.ClientResponse:
    started = time.monotonic()
    resp = await stack.post(VERIFY, citizen)
    elapsed = time.monotonic() - started
    problem = await resp.json()
    assert resp.status == 503, problem
    assert (problem["type"], problem["source"]) == (ProblemType.CENTRAL_UNAVAILABLE, "central")
    assert int(resp.headers["Retry-After"]) >= 1
    assert elapsed < FAST, elapsed
    return resp


def transitions(worker: Worker, state: str) -> float:
    value = worker.metrics.registry.get_sample_value(
        "lgsp_worker_breaker_transitions_total", {"adapter": "population", "state": state}
    )
    return value or 0.0


async def test_without_a_breaker_every_request_spends_its_retry_budget_on_a_dead_central(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    """The baseline the breaker improves on: 8 attempts per request, each one a 502."""
    await use_worker(stack, BreakerSettings(enabled=False))
    await stack.faults("population", {"error_rate": 1.0, "error_status": 503})
    for _ in range(3):
        resp = await stack.post(VERIFY, citizen)
        assert resp.status == 502
        assert (await resp.json())["type"] == ProblemType.CENTRAL_FAILED
    assert await injected(stack, "error") == 3 * EIGHT.attempts


async def test_after_failures_in_a_row_the_breaker_answers_503_at_once_and_spares_the_central(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    worker = await use_worker(stack, BreakerSettings(failure_threshold=10, cool_down=30))
    await stack.faults("population", {"error_rate": 1.0, "error_status": 503})
    first = await stack.post(VERIFY, citizen)  # 8 attempts, not yet 10 in a row: a 502
    assert first.status == 502
    second = await stack.post(VERIFY, citizen)  # 2 more attempts open it, mid-request
    assert second.status == 503
    assert await injected(stack, "error") == 10
    for _ in range(20):
        resp = await refused_fast(stack, citizen)
        assert int(resp.headers["Retry-After"]) <= 30
    assert await injected(stack, "error") == 10  # no attempt reached the central system
    assert worker.breaker is not None
    assert worker.breaker.state is BreakerState.OPEN
    assert transitions(worker, "open") == 1
    gauge = worker.metrics.registry.get_sample_value(
        "lgsp_worker_breaker_state", {"adapter": "population"}
    )
    assert gauge == 2.0


async def test_an_outage_retry_after_is_honoured_one_attempt_then_none(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    """The mock's outage answers 503 with Retry-After (the outage's remaining seconds): longer
    than the deadline, so the first request gives up at once and the breaker opens for it."""
    await use_worker(stack, BreakerSettings(max_retry_after=45))
    await stack.faults("population", {"outage_seconds": 600})
    resp = await refused_fast(stack, citizen)
    assert resp.headers["Retry-After"] == "45"  # 600 s asked, at most max_retry_after honoured
    for _ in range(20):
        await refused_fast(stack, citizen)
    assert await injected(stack, "outage") == 1


async def test_once_the_central_returns_a_half_open_probe_closes_the_breaker(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    worker = await use_worker(stack, BreakerSettings(cool_down=0.5, max_retry_after=1.0))
    await stack.faults("population", {"outage_seconds": 600})
    # A caller who gives 0.5 s cannot wait the 1 s asked for: refused at once, breaker open.
    resp = await stack.post(VERIFY, citizen, {"LGSP-Timeout": "0.5"})
    assert resp.status == 503
    assert (await resp.json())["type"] == ProblemType.CENTRAL_UNAVAILABLE
    assert resp.headers["Retry-After"] == "1"
    await refused_fast(stack, citizen)
    assert await injected(stack, "outage") == 1
    assert await central_view(stack) == "open"

    await stack.faults("population", None)  # the central system is back
    calls_before = await stack.central_calls()

    async def answered() -> bool:
        return (await stack.post(VERIFY, citizen)).status == 200

    await wait_until(answered, within=10)
    assert worker.breaker is not None
    assert worker.breaker.state is BreakerState.CLOSED
    assert [transitions(worker, s) for s in ("open", "half-open", "closed")] == [1, 1, 1]
    assert await stack.central_calls() == calls_before + 1  # the probe, and nothing before it
    for _ in range(3):
        assert (await stack.post(VERIFY, citizen)).status == 200
    assert await central_view(stack) == "closed"


async def central_view(stack: Stack) -> str:
    """The population breaker's state as /ops/services shows it (the dashboard's badge)."""
    headers = {"Authorization": f"Bearer {OPS_TOKEN}"}
    resp = await stack.client.get("/ops/services", headers=headers)
    assert resp.status == 200
    document = await resp.json()
    (population,) = [c for c in document["central"] if c["adapter"] == "population"]
    state: str = population["state"]
    return state
