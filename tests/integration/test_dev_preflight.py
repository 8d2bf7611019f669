"""`lgsp dev` refuses a broker it did not start (unless told to use it) and ports another
process holds, saying how to run beside it (`LGSP_PORT_OFFSET`)."""

from __future__ import annotations

import socket

import pytest

from adapters.errors import ConfigError
from gateway.broker import LocalBroker
from gateway.cli import preflight

pytestmark = pytest.mark.integration


def test_a_running_broker_it_did_not_start_is_refused(broker: LocalBroker) -> None:
    with pytest.raises(ConfigError, match="--use-running-broker") as refused:
        preflight.broker_is_running(broker, use_running=False)
    assert "LGSP_PORT_OFFSET" in str(refused.value)


def test_a_running_broker_is_used_when_asked(broker: LocalBroker) -> None:
    assert preflight.broker_is_running(broker, use_running=True) is True


def test_no_broker_on_the_port_means_it_starts_its_own(broker: LocalBroker) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        free = s.getsockname()[1]
    absent = LocalBroker(broker.data_dir, broker.ports.__class__(amqp=free), "u", "p")
    assert preflight.broker_is_running(absent, use_running=False) is False


def test_taken_ports_are_named_by_what_would_serve_on_them() -> None:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        port = held.getsockname()[1]
        with pytest.raises(ConfigError, match=rf"gateway \({port}\)"):
            preflight.refuse_taken_ports({"gateway": port, "mock population": 0})


def test_two_mocks_configured_on_one_port_are_refused_before_either_starts() -> None:
    with pytest.raises(ConfigError, match=r"mock land and mock sea \(8710\)"):
        preflight.refuse_taken_ports({"gateway": 8080, "mock land": 8710, "mock sea": 8710})
