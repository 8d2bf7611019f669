"""The three-node RabbitMQ cluster, started once for the tests marked `cluster`.

Only tests in this package request it, so a session that runs none of them
never pays the ~20 s it takes to form. Each test gets its own virtual host
(created cluster-wide through any running node's management API), and every
node is running again when a test ends: a test that stops, kills or pauses a
node brings it back before it returns, and the fixture checks it did.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pytest

from gateway.cluster import LocalCluster, free_ports
from tests.integration.conftest import citizen, dataset
from tests.support.cluster import ClusterRabbit
from tests.support.write_load import LEDGERS

NODES = 3
__all__ = ["citizen", "dataset"]  # the request path's fixtures, shared


@pytest.fixture(scope="package")  # this package runs once a session; stopped after it
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalCluster]:
    nodes = LocalCluster(
        tmp_path_factory.mktemp("cluster"),
        free_ports(NODES),
        user="lgsp",
        password=secrets.token_urlsafe(12),
        name_prefix=f"lgsp-c{os.getpid()}",
    )
    try:
        nodes.start()
        yield nodes
    finally:
        nodes.stop()


@pytest.fixture
def crabbit(cluster: LocalCluster) -> Iterator[ClusterRabbit]:
    """A fresh virtual host on the cluster, deleted after the test."""
    rabbit = ClusterRabbit(cluster, vhost=f"c-{secrets.token_hex(5)}")
    rabbit.create_vhost()
    try:
        yield rabbit
    finally:
        assert all(node.running for node in cluster.nodes), "a test left a node down"
        rabbit.delete_vhost()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Every fault test's ledger, printed whether the test passed or not."""
    if not LEDGERS:
        return
    terminalreporter.section("cluster fault ledgers")
    for ledger in LEDGERS:
        terminalreporter.write_line(ledger)
