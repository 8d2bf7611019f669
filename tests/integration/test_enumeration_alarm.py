"""The enumeration alarm: a client touching more people than its norm is flagged, never blocked."""

from __future__ import annotations

import asyncio
import secrets
from datetime import datetime
from pathlib import Path
from typing import Any

from prometheus_client.parser import text_string_to_metric_families

from gateway.security.enumeration import ALARM_OPERATION
from mocks.data import Dataset
from mocks.settings import MockSettings
from tests.integration.security_support import audit_writer, bearer, clients
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, running_stack

VERIFY = "/v1/population/citizen-verify"
LIMITS = {"rate": 1e4, "burst": 10000}
AUTH = clients(
    crawler={"allow": ["population/citizen-verify"], "subject_norm": 3, "rate_limit": LIMITS},
    ward={"allow": ["population/citizen-verify"], "subject_norm": 3, "rate_limit": LIMITS},
)


def sample(exposition: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(exposition):
        for s in family.samples:
            if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return 0.0


def body(dataset: Dataset, n: int) -> dict[str, Any]:
    citizen = dataset.citizen(n)
    born = citizen.ngay_sinh if len(citizen.ngay_sinh) == 8 else citizen.ngay_sinh + "0101"
    return {
        "personal_id": citizen.so_dinh_danh,
        "full_name": citizen.ho_va_ten,
        "date_of_birth": datetime.strptime(born, "%Y%m%d").date().isoformat(),
    }


async def test_a_client_over_its_norm_raises_the_alarm_once_and_keeps_being_served(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    dataset: Dataset,
    tmp_path: Path,
) -> None:
    operator = secrets.token_urlsafe(16)
    async with (
        running_stack(
            rabbit, mock_settings, generated, auth=AUTH, ops={"token": operator}
        ) as stack,
        audit_writer(stack.settings, tmp_path / "audit.sqlite3") as running,
    ):
        crawler = {**bearer(stack.token("crawler")), **PURPOSE}
        ward = {**bearer(stack.token("ward")), **PURPOSE}
        statuses = []
        for n in range(6):  # six different people: over the norm of three
            response = await stack.client.post(VERIFY, json=body(dataset, n), headers=crawler)
            statuses.append(response.status)
        for _ in range(6):  # the same person six times: one subject, no alarm
            response = await stack.client.post(VERIFY, json=body(dataset, 0), headers=ward)
            statuses.append(response.status)
        assert set(statuses) <= {200, 404}, statuses  # never blocked

        metrics = await (await stack.client.get("/metrics")).text()
        assert sample(metrics, "lgsp_enumeration_alarms_total", client="crawler") == 1
        assert sample(metrics, "lgsp_enumeration_alarms_total", client="ward") == 0
        assert sample(metrics, "lgsp_client_distinct_subjects", client="crawler") == 4
        assert sample(metrics, "lgsp_client_distinct_subjects", client="ward") == 1

        listed = await stack.client.get("/ops/alarms", headers=bearer(operator))
        assert listed.status == 200
        (alarm,) = (await listed.json())["alarms"]
        assert (alarm["client_id"], alarm["norm"], alarm["distinct_subjects"]) == ("crawler", 3, 4)
        assert (await stack.client.get("/ops/alarms")).status == 401  # operators only

        async with asyncio.timeout(15):
            await running.writer.wait_written(len(statuses) + 1)
        (record,) = running.store.search(operation=ALARM_OPERATION)
        assert record["client_id"] == "crawler"
        assert record["subject_hash"] is None  # names the client, not the people
