"""Session-wide fixtures: a real RabbitMQ node started and stopped by the test session.

Each test gets its own virtual host on that node, so tests cannot see each
other's queues or messages, and no test depends on another's leftovers.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gateway.broker import BrokerPorts, LocalBroker
from gateway.cli.init import generate_config
from mocks.settings import MockSettings
from tests.support.rabbit import Rabbit

# Tests never read a developer's var/lgsp.toml: settings come from the tests alone.
os.environ["LGSP_CONFIG"] = str(Path(__file__).parent / "no-such-config.toml")


@pytest.fixture(scope="session")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    node = LocalBroker(
        tmp_path_factory.mktemp("rabbitmq"),
        BrokerPorts.free(),
        user="lgsp",
        password=secrets.token_urlsafe(12),
        node_name=f"lgsp-test-{os.getpid()}",
    )
    node.start()
    try:
        node.wait_ready()
        yield node
    finally:
        node.stop()


@pytest.fixture
def rabbit(broker: LocalBroker) -> Iterator[Rabbit]:
    """A fresh virtual host on the session's broker, deleted after the test."""
    rabbit = Rabbit(broker, vhost=f"t-{secrets.token_hex(5)}")
    rabbit.create_vhost()
    try:
        yield rabbit
    finally:
        rabbit.delete_vhost()


@pytest.fixture(scope="session")
def generated() -> dict[str, Any]:
    """Credentials generated the way `lgsp init` does, shared by mocks and adapters."""
    return generate_config()


@pytest.fixture(scope="session")
def mock_settings(
    tmp_path_factory: pytest.TempPathFactory, generated: dict[str, Any]
) -> MockSettings:
    """A small, deterministic data set, generated once per session."""
    return MockSettings(
        data_dir=tmp_path_factory.mktemp("mockdata"),
        citizens=2000,
        enterprises=400,
        insured=1500,
        **generated["mocks"],
    )
