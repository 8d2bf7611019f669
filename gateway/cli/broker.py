"""`lgsp broker run [--nodes N]`: only the private RabbitMQ node or cluster, until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable, Sequence
from types import FrameType

from adapters.errors import ConfigError
from gateway.broker import BrokerPorts, LocalBroker
from gateway.cluster import ClusterPorts, LocalCluster
from schemas.config import Settings


def _password(settings: Settings) -> str:
    password = settings.broker.password.get_secret_value()
    if not password:
        raise ConfigError("no broker password configured: run `lgsp init` (make run does) first")
    return password


def local_broker(settings: Settings) -> LocalBroker:
    """The node `broker.*` describes (data directory, ports, the generated password)."""
    b = settings.broker
    ports = BrokerPorts(b.amqp_port, b.management_port, b.dist_port, b.epmd_port)
    return LocalBroker(b.data_dir, ports, b.user, _password(settings))


def local_cluster(settings: Settings, nodes: int) -> LocalCluster:
    """N nodes from `broker.*`: node i on each configured port + i - 1, one epmd, data under
    `broker.data_dir`/cluster (apart from the single node's data)."""
    b = settings.broker
    base = ClusterPorts(b.amqp_port, b.management_port, b.dist_port, b.epmd_port)
    return LocalCluster(
        b.data_dir / "cluster",
        [base.node(i) for i in range(nodes)],
        b.user,
        _password(settings),
    )


def _until_signal(alive: Callable[[], bool]) -> int:
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    # Both: a background job of a non-interactive shell starts with SIGINT ignored.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    while not stop.wait(0.5):
        if not alive():
            return 1
    return 0


def run_broker(settings: Settings) -> int:
    broker = local_broker(settings)
    broker.start()
    try:
        broker.wait_ready()
        print(f"RabbitMQ ready at 127.0.0.1:{broker.ports.amqp} (Ctrl-C stops it)", flush=True)
        code = _until_signal(lambda: broker.running)
        if code:
            print("RabbitMQ exited; see", broker.log_file, flush=True)
        return code
    finally:
        broker.stop()


def cluster_banner(nodes: Sequence[LocalBroker]) -> str:
    """What `lgsp broker run --nodes N` prints: each node, and the `bus.urls` to configure."""
    lines = [f"RabbitMQ cluster of {len(nodes)} nodes ready (Ctrl-C stops all of them):"]
    lines += [
        f"  {n.node:<20} amqp 127.0.0.1:{n.ports.amqp}  management {n.management_url}"
        for n in nodes
    ]
    urls = ", ".join(f'"amqp://{n.user}:***@127.0.0.1:{n.ports.amqp}/"' for n in nodes)
    lines += ["in lgsp.toml, [bus]:", f"  urls = [{urls}]", "  quorum_replicas = 3"]
    return "\n".join(lines)


def run_cluster(settings: Settings, nodes: int) -> int:
    cluster = local_cluster(settings, nodes)
    try:
        print(f"starting {nodes} RabbitMQ nodes (data in {cluster.data_dir})", flush=True)
        cluster.start()
        print(cluster_banner(cluster.nodes), flush=True)
        code = _until_signal(lambda: all(n.running for n in cluster.nodes))
        if code:
            gone = [n for n in cluster.nodes if not n.running]
            print("a RabbitMQ node exited; see", *(n.log_file for n in gone), flush=True)
        return code
    finally:
        cluster.stop()
