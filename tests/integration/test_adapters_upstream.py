"""The central systems' adapters end to end on the real broker: every operation's example
works, transient upstream errors are retried to success, unusable upstream answers are 502s
that leave the workers running."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from gateway.cli.examples import EXAMPLE_HEADERS, example_bodies
from mocks.data import Dataset
from schemas.problems import ProblemType
from tests.support.stack import Stack


def examples_of(dataset: Dataset, system: str | None = None) -> dict[str, dict[str, object]]:
    bodies = example_bodies(dataset.examples())
    return {p: b for p, b in bodies.items() if system is None or p.startswith(system + "/")}


def headers_for(path: str, key: str = "example-key-0001") -> dict[str, str]:
    extra = dict(EXAMPLE_HEADERS.get(path, {}))
    if "Idempotency-Key" in extra:
        extra["Idempotency-Key"] = key
    return extra


async def test_every_operation_answers_its_example(stack: Stack, dataset: Dataset) -> None:
    """The README's example for each operation (gateway.examples) works against the mocks."""
    bodies = examples_of(dataset)
    assert set(bodies) == {
        "population/citizen-verify",
        "population/residence-declaration",
        "business/enterprise-lookup",
        "insurance/participant-lookup",
        "insurance/contribution-history",
        "insurance/health-card-verify",
        "insurance/code-search",
        "civil-status/birth-registration-lookup",
    }
    for path, body in bodies.items():
        resp = await stack.post(f"/v1/{path}", body, headers_for(path, "every-op-example-01"))
        assert resp.status == 200, (path, await resp.text())
        document = await resp.json()
        assert document, path


@pytest.mark.parametrize("system", ["population", "business", "insurance"])
async def test_30_percent_upstream_errors_are_retried_to_success(
    stack: Stack, dataset: Dataset, system: str
) -> None:
    await stack.faults(system, {"error_rate": 0.3, "error_status": 503, "seed": 7})
    bodies = examples_of(dataset, system)
    with capture_logs() as logs:
        statuses = []
        for round_ in range(6):
            for path, body in bodies.items():
                resp = await stack.post(
                    f"/v1/{path}", body, headers_for(path, f"retry-key-{round_:04d}")
                )
                statuses.append((path, resp.status))
    assert {s for _, s in statuses} == {200}, statuses
    retries = [e for e in logs if e["event"] == "central.retry"]
    assert retries
    assert all("503" in e["error"] for e in retries)


@pytest.mark.parametrize("system", ["population", "business", "insurance"])
async def test_unusable_upstream_answers_are_502_and_the_worker_keeps_running(
    stack: Stack, dataset: Dataset, system: str
) -> None:
    path, body = next(iter(examples_of(dataset, system).items()))
    for fault in (
        {"malformed_rate": 1.0},
        {"oversized_rate": 1.0, "oversized_bytes": 2 * 1024 * 1024},
        {"redirect_rate": 1.0},
    ):
        await stack.faults(system, fault)
        resp = await stack.post(f"/v1/{path}", body, headers_for(path))
        problem = await resp.json()
        assert resp.status == 502, (fault, problem)
        assert problem["source"] == "central"
        assert problem["type"] == ProblemType.CENTRAL_FAILED
        await stack.faults(system, None)
        resp = await stack.post(f"/v1/{path}", body, headers_for(path))
        assert resp.status == 200, (fault, await resp.text())
    for worker, task in stack.workers[system]:
        assert not task.done()
        assert worker.connected.is_set()


@pytest.mark.parametrize("system", ["population", "business", "insurance"])
async def test_central_failing_after_retries_is_502_from_central(
    stack: Stack, dataset: Dataset, system: str
) -> None:
    path, body = next(iter(examples_of(dataset, system).items()))
    await stack.faults(system, {"error_rate": 1.0, "error_status": 503})
    with capture_logs() as logs:
        resp = await stack.post(f"/v1/{path}", body, headers_for(path))
    problem = await resp.json()
    assert resp.status == 502, problem
    assert (problem["source"], problem["type"]) == ("central", ProblemType.CENTRAL_FAILED)
    assert (
        len([e for e in logs if e["event"] == "central.retry"])
        == stack.settings.adapter(system).retry.attempts - 1
    )
