"""The `lgsp` pytest plugin: a real RabbitMQ, a virtual host and a stack, as fixtures.

Installed with the gateway and registered through the `pytest11` entry point,
so any test suite in an environment where `lgsp-gateway` is installed has these
fixtures (disable with `-p no:lgsp`). Every fixture is prefixed `lgsp_`; none
starts anything until a test asks for it:

| fixture | scope | what |
|---|---|---|
| `lgsp_broker` | session | a private RabbitMQ node on free ports (127.0.0.1), stopped after |
| `lgsp_rabbit` | test | a fresh virtual host on it (`.url`, `.queue(name)`), deleted after |
| `lgsp_generated` | session | what `lgsp init` would generate (adapter and mock credentials) |
| `lgsp_mock_settings` | session | the mocks' settings: a small synthetic data set, credentials |
| `lgsp_adapters` | session | the adapters under test: override it (default: every installed one) |
| `lgsp_settings` | test | settings overrides for the stack (`{"gateway": {...}}`), default none |
| `lgsp_stack` | test | mocks, one worker per adapter under test and the gateway, ready |

An adapter package's `tests/conftest.py` names its adapter::

    @pytest.fixture(scope="session")
    def lgsp_adapters() -> list[str]:
        return ["land"]

and its tests call `await lgsp_stack.post("/v1/land/parcel-lookup", body)`
(a token and the purpose trail are added). `lgsp_stack` needs pytest-asyncio.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from gateway.broker import LocalBroker
    from gateway.testing.rabbit import Rabbit
    from gateway.testing.stack import Stack
    from mocks.settings import MockSettings


def pytest_configure(config: pytest.Config) -> None:  # noqa: ARG001 (the hook's signature)
    """A developer's `LGSP_PORT_OFFSET` (for a second local stack) must not move the ports a
    test stack chose for itself: tests pick free ports, and processes they start inherit this."""
    os.environ.pop("LGSP_PORT_OFFSET", None)


#: Small data set sizes: seconds to build once per session, enough for every example.
TEST_DATA_SIZES: dict[str, Any] = {"citizens": 2000, "enterprises": 400, "insured": 1500}


@pytest.fixture(scope="session")
def lgsp_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalBroker]:
    """A private RabbitMQ node for the test session, on four free ports."""
    from gateway.broker import BrokerPorts, LocalBroker

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
def lgsp_rabbit(lgsp_broker: LocalBroker) -> Iterator[Rabbit]:
    """A fresh virtual host on the session's broker, deleted after the test."""
    from gateway.testing.rabbit import Rabbit

    rabbit = Rabbit(lgsp_broker, vhost=f"t-{secrets.token_hex(5)}")
    rabbit.create_vhost()
    try:
        yield rabbit
    finally:
        rabbit.delete_vhost()


@pytest.fixture(scope="session")
def lgsp_generated() -> dict[str, Any]:
    """Credentials generated the way `lgsp init` does, shared by mocks and adapters."""
    from gateway.cli.init import generate_config

    return generate_config()


@pytest.fixture(scope="session")
def lgsp_mock_settings(
    tmp_path_factory: pytest.TempPathFactory, lgsp_generated: dict[str, Any]
) -> MockSettings:
    """A small, deterministic data set, generated once per session, and the mocks' secrets."""
    from mocks.settings import MockSettings

    credentials = {name: a["credentials"] for name, a in lgsp_generated["adapters"].items()}
    return MockSettings(
        data_dir=tmp_path_factory.mktemp("mockdata"),
        credentials=credentials,
        **TEST_DATA_SIZES,
        **lgsp_generated["mocks"],
    )


@pytest.fixture(scope="session")
def lgsp_adapters() -> list[str]:
    """The adapters a stack serves; an adapter package overrides this with its own name."""
    from adapters.registry import Registry

    return Registry.discover().names


@pytest.fixture
def lgsp_settings() -> dict[str, Any]:
    """Overrides of the stack's settings, by section (`{"gateway": {"default_timeout": 2}}`)."""
    return {}


try:
    import pytest_asyncio
except ImportError:  # pragma: no cover - the stack fixture needs it, the others do not
    pass
else:

    @pytest_asyncio.fixture
    async def lgsp_stack(
        lgsp_rabbit: Rabbit,
        lgsp_mock_settings: MockSettings,
        lgsp_generated: dict[str, Any],
        lgsp_adapters: list[str],
        lgsp_settings: dict[str, Any],
    ) -> AsyncIterator[Stack]:
        """The adapters under test served end to end, ready (every queue has its worker)."""
        from gateway.testing.stack import running_stack

        async with running_stack(
            lgsp_rabbit,
            lgsp_mock_settings,
            lgsp_generated,
            adapters=lgsp_adapters,
            **lgsp_settings,
        ) as stack:
            yield stack
