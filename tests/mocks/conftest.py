"""Fixtures for the mock tests: a small data set and servers started in-process.

The data set is a few hundred rows, built once per session in a temporary
directory; each test that needs a server starts its own on port 0 so that
fault configurations and counters never leak between tests.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from mocks.data import Dataset, ensure_dataset
from mocks.settings import MockSettings
from tests.mocks.support import MockServer, running

SMALL = {"citizens": 400, "enterprises": 80, "insured": 300}


def make_settings(data_dir: Path, **overrides: Any) -> MockSettings:
    """Settings with throwaway credentials, as `lgsp init` would generate them."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        **SMALL,
        "population_api_key": secrets.token_urlsafe(16),
        "population_secret": secrets.token_urlsafe(24),
        "business_client_id": "lgsp-hp-" + secrets.token_hex(4),
        "business_client_secret": secrets.token_urlsafe(24),
        "insurance_api_key": secrets.token_urlsafe(16),
        # A third-party style mock reads its system's credentials as one dict.
        "credentials": {
            "civil-status": {"key_id": "LGSP-HP-test", "secret": secrets.token_urlsafe(24)}
        },
        **overrides,
    }
    return MockSettings(**values)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory) -> MockSettings:
    return make_settings(tmp_path_factory.mktemp("mockdata"))


@pytest.fixture(scope="session")
def dataset_path(settings: MockSettings) -> Path:
    return ensure_dataset(settings)


@pytest.fixture(scope="session")
def data(dataset_path: Path) -> Iterator[Dataset]:
    with Dataset(dataset_path) as dataset:
        yield dataset


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
async def population(
    settings: MockSettings, dataset_path: Path, http: aiohttp.ClientSession
) -> AsyncIterator[MockServer]:
    async with running("population", settings, dataset_path, http) as server:
        yield server


@pytest.fixture
async def business(
    settings: MockSettings, dataset_path: Path, http: aiohttp.ClientSession
) -> AsyncIterator[MockServer]:
    async with running("business", settings, dataset_path, http) as server:
        yield server


@pytest.fixture
async def insurance(
    settings: MockSettings, dataset_path: Path, http: aiohttp.ClientSession
) -> AsyncIterator[MockServer]:
    async with running("insurance", settings, dataset_path, http) as server:
        yield server


@pytest.fixture
async def civil_status(
    settings: MockSettings, dataset_path: Path, http: aiohttp.ClientSession
) -> AsyncIterator[MockServer]:
    async with running("civil-status", settings, dataset_path, http) as server:
        yield server
