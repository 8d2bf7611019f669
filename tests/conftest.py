"""Session-wide fixtures: the `lgsp` pytest plugin's, under this project's own names.

The plugin (`gateway.testing.plugin`, loaded through the `pytest11` entry
point) starts one real RabbitMQ node for the session; `broker` and `rabbit`
are that node and a per-test virtual host, so tests cannot see each other's
queues or messages, and no test depends on another's leftovers. The stack
serves this project's adapters only (`lgsp_adapters`), whatever else is
installed.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from gateway.broker import LocalBroker
from mocks.settings import MockSettings
from tests.support.rabbit import Rabbit
from tests.support.stack import PROJECT_ADAPTERS

# Tests never read a developer's var/lgsp.toml: settings come from the tests alone. (The
# plugin drops LGSP_PORT_OFFSET: the tests choose their own ports.)
os.environ["LGSP_CONFIG"] = str(Path(__file__).parent / "no-such-config.toml")


@pytest.fixture(scope="session")
def lgsp_adapters() -> list[str]:
    """The stack of this project's tests: its own adapters, not another installed package's."""
    return list(PROJECT_ADAPTERS)


@pytest.fixture(scope="session")
def broker(lgsp_broker: LocalBroker) -> LocalBroker:
    return lgsp_broker


@pytest.fixture
def rabbit(lgsp_rabbit: Rabbit) -> Rabbit:
    """A fresh virtual host on the session's broker, deleted after the test."""
    return lgsp_rabbit


@pytest.fixture(scope="session")
def generated(lgsp_generated: dict[str, Any]) -> dict[str, Any]:
    """Credentials generated the way `lgsp init` does, shared by mocks and adapters."""
    return lgsp_generated


@pytest.fixture(scope="session")
def mock_settings(lgsp_mock_settings: MockSettings) -> MockSettings:
    """A small, deterministic data set, generated once per session."""
    return lgsp_mock_settings
