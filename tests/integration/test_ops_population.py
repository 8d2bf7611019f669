"""The operator signals for a real adapter: population's citizen-verify against its mock."""

from __future__ import annotations

from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from mocks.settings import MockSettings
from tests.support.rabbit import Rabbit
from tests.support.stack import running_stack

pytestmark = pytest.mark.integration
OPS_TOKEN = "population-ops-test-token"


def samples(exposition: str, name: str) -> dict[tuple[tuple[str, str], ...], float]:
    return {
        tuple(sorted(s.labels.items())): float(s.value)
        for family in text_string_to_metric_families(exposition)
        for s in family.samples
        if s.name == name
    }


async def test_citizen_verify_traffic_shows_in_metrics_and_statistics_without_personal_data(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
) -> None:
    async with running_stack(rabbit, mock_settings, generated, ops={"token": OPS_TOKEN}) as stack:
        for _ in range(2):
            resp = await stack.post("/v1/population/citizen-verify", citizen)
            assert resp.status == 200, await resp.text()

        text = await (await stack.client.get("/metrics")).text()
        requests = samples(text, "lgsp_gateway_requests_total")
        key = (("adapter", "population"), ("operation", "citizen-verify"), ("status", "200"))
        assert requests[key] == 2
        assert samples(text, "lgsp_queue_consumers")[(("queue", "lgsp.requests.population"),)] == 1

        ops = {"Authorization": f"Bearer {OPS_TOKEN}"}
        services = await (await stack.client.get("/ops/services", headers=ops)).json()
        (verify,) = services["services"]
        assert (verify["adapter"], verify["operation"], verify["successes"]) == (
            "population",
            "citizen-verify",
            2,
        )
        for value in (citizen["personal_id"], citizen["full_name"], citizen["date_of_birth"]):
            assert value not in text
            assert value not in str(services)
        # A client token of the stack is not an operator credential.
        as_client = await stack.client.get(
            "/ops/services", headers={"Authorization": f"Bearer {stack.token()}"}
        )
        assert as_client.status == 401
