"""A local RabbitMQ cluster: N nodes of Debian's `rabbitmq-server` on 127.0.0.1, joined.

Each node has its own data directory and its own AMQP, management and Erlang
distribution ports; all of them share one Erlang cookie and one epmd port,
because epmd is how Erlang nodes on one host find each other's distribution
port (`lgsp-2@localhost` asks the epmd on `ERL_EPMD_PORT` where `lgsp-1` is).
The nodes join through classic peer discovery (every node lists all of them):
a node booting for the first time joins the first listed node that answers.
That is why the first node is started alone and waited for; the others then
boot side by side and all join it (had two of them booted with nobody to
answer, each would have started a cluster of its own).

epmd is stopped once, after the last node: stopping it with the first node
would leave the others unable to reconnect to restarted peers.
"""

from __future__ import annotations

import secrets
import socket
import subprocess
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from adapters.errors import ConfigError
from gateway.broker import BrokerPorts, LocalBroker, find_server
from gateway.private_files import write_private


@dataclass(frozen=True, slots=True)
class ClusterPorts:
    """Node i (from 0) listens on base + i for AMQP, management and distribution."""

    amqp: int = 5682
    management: int = 15682
    dist: int = 25682
    epmd: int = 4382

    def node(self, index: int) -> BrokerPorts:
        return BrokerPorts(self.amqp + index, self.management + index, self.dist + index, self.epmd)


def free_ports(nodes: int) -> list[BrokerPorts]:
    """Ports nobody listens on now, for test sessions: 3 per node and one shared epmd."""
    socks = [socket.socket() for _ in range(3 * nodes + 1)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        found = [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()
    epmd = found[-1]
    return [
        BrokerPorts(found[3 * i], found[3 * i + 1], found[3 * i + 2], epmd) for i in range(nodes)
    ]


class LocalCluster:
    def __init__(
        self,
        data_dir: Path,
        ports: Sequence[BrokerPorts],
        user: str,
        password: str,
        *,
        name_prefix: str = "lgsp",
        cookie: str | None = None,
    ) -> None:
        if len({p.epmd for p in ports}) != 1:
            raise ConfigError("the nodes of one cluster share one epmd port")
        self.data_dir = data_dir.resolve()
        names = [f"{name_prefix}-{i}" for i in range(1, len(ports) + 1)]
        peers = tuple(f"{name}@localhost" for name in names)
        cookie = cookie or _stored_cookie(self.data_dir)
        self.nodes = [
            LocalBroker(
                self.data_dir / name,
                node_ports,
                user,
                password,
                node_name=name,
                cookie=cookie,
                peers=peers if len(ports) > 1 else (),
            )
            for name, node_ports in zip(names, ports, strict=True)
        ]

    @property
    def urls(self) -> list[str]:
        return [node.url for node in self.nodes]

    def start(self, timeout: float = 120.0) -> None:
        """Start the first node, then the others side by side; return once all are joined.

        A cluster that ran before starts all at once: each node then waits at boot for
        the peers it last saw, and the first alone would never become ready."""
        first, *rest = self.nodes
        first.start()
        if not (first.data_dir / "mnesia").exists() or not rest:
            first.wait_ready(timeout)
        for node in rest:
            node.start()
        for node in self.nodes:
            node.wait_ready(timeout)
        self.wait_joined(timeout)

    def wait_joined(self, timeout: float = 60.0) -> None:
        """Until the first node sees every node running in its cluster."""
        deadline = time.monotonic() + timeout
        wanted = {node.node for node in self.nodes}
        running: set[str] = set()
        while time.monotonic() < deadline:
            running = self.running_nodes(self.nodes[0])
            if running >= wanted:
                return
            time.sleep(0.5)
        raise ConfigError(f"cluster did not form: running {sorted(running)}, wanted {wanted}")

    def running_nodes(self, via: LocalBroker) -> set[str]:
        """The running nodes as `via` sees them (`rabbitmqctl cluster_status`)."""
        done = self.ctl(via, "eval", "rabbit_nodes:all_running().")
        text = done.stdout.strip().strip("[]")
        return {part.strip().strip("'") for part in text.split(",") if part.strip()}

    def ctl(
        self, via: LocalBroker, *args: str, timeout: float = 30.0
    ) -> subprocess.CompletedProcess[str]:
        """Run `rabbitmqctl` against `via` (its cookie, its epmd)."""
        ctl = find_server().parent / "rabbitmqctl"
        return subprocess.run(
            [str(ctl), "-n", via.node, "-q", *args],
            env=via.environment(),
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def restart(self, node: LocalBroker, timeout: float = 120.0) -> None:
        """Start a stopped or killed node again (it rejoins from its own data) and wait."""
        node.start()
        node.wait_ready(timeout)
        self.wait_joined(timeout)

    def stop(self) -> None:
        """Stop every node (the last one also stops the shared epmd)."""
        for node in self.nodes:
            node.resume()  # a paused node cannot take its SIGTERM
        with ThreadPoolExecutor(len(self.nodes)) as pool:
            list(pool.map(lambda node: node.stop(keep_epmd=True), self.nodes))
        self.nodes[-1].stop()  # already stopped: this stops the shared epmd


def _stored_cookie(data_dir: Path) -> str:
    """The cluster's Erlang cookie, generated once and kept (mode 0600) beside the nodes'
    data: restarted nodes must present the cookie their peers know."""
    path = data_dir / "erlang.cookie"
    if path.exists():
        return path.read_text().strip()
    cookie = secrets.token_hex(20)
    write_private(path, cookie)
    return cookie
