"""Fixtures for tests that run the request path on the real broker."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from typing import Any

import pytest

from mocks.data import Dataset, ensure_dataset
from mocks.settings import MockSettings
from tests.support.rabbit import Rabbit
from tests.support.stack import Stack, running_stack


@pytest.fixture(scope="session")
def dataset(mock_settings: MockSettings) -> Iterator[Dataset]:
    with Dataset(ensure_dataset(mock_settings)) as data:
        yield data


@pytest.fixture(scope="session")
def citizen(dataset: Dataset) -> dict[str, Any]:
    """A `citizen-verify` body that matches a record of the mock's data set."""
    example = dataset.examples()["population"]
    born = datetime.strptime(example["NgayThangNamSinh"], "%Y%m%d").date()
    return {
        "personal_id": example["SoDinhDanh"],
        "full_name": example["HoVaTen"],
        "date_of_birth": born.isoformat(),
    }


@pytest.fixture
async def stack(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any]
) -> AsyncIterator[Stack]:
    async with running_stack(rabbit, mock_settings, generated) as running:
        yield running
