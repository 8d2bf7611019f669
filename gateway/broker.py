"""A private RabbitMQ node for development and tests, from Debian's `rabbitmq-server`.

The node's data, logs, cookie and configuration live under one directory; every
port it opens (AMQP, management, Erlang distribution, epmd) is bound to
127.0.0.1 and chosen so as not to collide with a system broker on 5672. We run
the scripts under /usr/lib/rabbitmq directly: Debian's /usr/sbin wrapper would
switch to the `rabbitmq` user, which cannot write a project-local directory.
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from adapters.errors import ConfigError
from gateway.private_files import write_private

SERVER_GLOB = "/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server"
INSTALL_HINT = (
    "RabbitMQ is not installed. On Debian/Ubuntu: `sudo apt-get install rabbitmq-server` "
    "(`make run` does this for you when run as root), or use `docker compose up` with the "
    "project's docker-compose.yml if you have a Docker engine."
)
AMQP_HEADER = b"AMQP\x00\x00\x09\x01"


@dataclass(frozen=True, slots=True)
class BrokerPorts:
    amqp: int = 5682
    management: int = 15682
    dist: int = 25682
    epmd: int = 4382

    @classmethod
    def free(cls) -> BrokerPorts:
        """Four ports nobody listens on now (for test sessions running side by side)."""
        socks = [socket.socket() for _ in range(4)]
        try:
            for s in socks:
                s.bind(("127.0.0.1", 0))
            amqp, management, dist, epmd = (s.getsockname()[1] for s in socks)
        finally:
            for s in socks:
                s.close()
        return cls(amqp, management, dist, epmd)


def find_server() -> Path:
    found = sorted(glob.glob(SERVER_GLOB))
    if not found:
        raise ConfigError(INSTALL_HINT)
    return Path(found[-1])


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
        return True
    return False


def amqp_answers(port: int) -> bool:
    """True when the node speaks AMQP on the port (it answers the protocol header)."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1.0) as sock:
            sock.sendall(AMQP_HEADER)
            frame = sock.recv(7)
            return len(frame) == 7 and frame[0] == 1  # a METHOD frame: Connection.Start
    except OSError:
        return False


class LocalBroker:
    def __init__(
        self,
        data_dir: Path,
        ports: BrokerPorts,
        user: str,
        password: str,
        node_name: str = "lgsp",
        management: bool = True,
        *,
        cookie: str | None = None,
        peers: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = data_dir.resolve()
        self.ports = ports
        self.user = user
        self.password = password
        self.node_name = node_name
        self.management = management
        # A cluster's nodes share one Erlang cookie and list each other (classic peer discovery).
        self.cookie = cookie
        self.peers = peers
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"amqp://{self.user}:{self.password}@127.0.0.1:{self.ports.amqp}/"

    @property
    def management_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.management}"

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def node(self) -> str:
        """The Erlang node name (`name@localhost`), as cluster status and /api/nodes show it."""
        return f"{self.node_name}@localhost"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "console.log"

    def _write_config(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        conf = [
            f"listeners.tcp.1 = 127.0.0.1:{self.ports.amqp}",
            f"default_user = {self.user}",
            f"default_pass = {self.password}",
            "loopback_users = none",
            "log.console = true",
            "log.console.level = warning",
            "log.file = false",
            "disk_free_limit.absolute = 50MB",
        ]
        if self.peers:
            # Classic peer discovery: a node booting for the first time joins the first listed
            # node that answers, so no `rabbitmqctl join_cluster` is needed (gateway/cluster.py).
            conf.append("cluster_formation.peer_discovery_backend = classic_config")
            conf += [
                f"cluster_formation.classic_config.nodes.{i} = {peer}"
                for i, peer in enumerate(self.peers, 1)
            ]
        if self.management:
            conf += [
                "management.tcp.ip = 127.0.0.1",
                f"management.tcp.port = {self.ports.management}",
            ]
        # It holds the broker's password: private from its first byte.
        write_private(self.data_dir / "rabbitmq.conf", "\n".join(conf) + "\n")
        plugins = "[rabbitmq_management]." if self.management else "[]."
        (self.data_dir / "enabled_plugins").write_text(plugins + "\n")
        if self.cookie is not None:
            cookie = self.data_dir / ".erlang.cookie"
            cookie.unlink(missing_ok=True)
            write_private(cookie, self.cookie)
            cookie.chmod(0o400)  # Erlang refuses a cookie file others could read

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("RABBITMQ_", "ERL_"))}
        d = self.data_dir
        env.update(
            HOME=str(d),  # the Erlang cookie is created here, private to this node
            RABBITMQ_NODENAME=self.node,
            RABBITMQ_MNESIA_BASE=str(d / "mnesia"),
            RABBITMQ_LOG_BASE=str(d / "log"),
            RABBITMQ_CONFIG_FILE=str(d / "rabbitmq.conf"),
            RABBITMQ_ENABLED_PLUGINS_FILE=str(d / "enabled_plugins"),
            RABBITMQ_CONF_ENV_FILE=str(d / "rabbitmq-env.conf"),  # absent: ignore /etc
            RABBITMQ_ADVANCED_CONFIG_FILE=str(d / "advanced.config"),
            RABBITMQ_PID_FILE=str(d / "rabbitmq.pid"),
            RABBITMQ_DIST_PORT=str(self.ports.dist),
            RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS="-kernel inet_dist_use_interface {127,0,0,1}",
            ERL_EPMD_ADDRESS="127.0.0.1",
            ERL_EPMD_PORT=str(self.ports.epmd),
        )
        return env

    def start(self) -> None:
        server = find_server()
        for port in (self.ports.amqp, self.ports.management, self.ports.dist):
            if port_open(port):
                raise ConfigError(f"port {port} on 127.0.0.1 is taken; choose other broker ports")
        self._write_config()
        with self.log_file.open("ab") as out:
            self.process = subprocess.Popen(
                [str(server)],
                env=self.environment(),
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,  # our own process group: stopped as one
            )

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is not None and self.process.poll() is not None:
                raise ConfigError(f"RabbitMQ exited at start; see {self.log_file}:\n{self._tail()}")
            if amqp_answers(self.ports.amqp):
                return
            time.sleep(0.2)
        raise ConfigError(f"RabbitMQ did not start within {timeout:.0f}s; see {self.log_file}")

    def _tail(self, lines: int = 15) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self, timeout: float = 30.0, *, keep_epmd: bool = False) -> None:
        """Stop the node gracefully (SIGTERM to its process group), then its epmd (unless
        other nodes still use it: a cluster on one host shares one epmd)."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self.process = None
        if not keep_epmd:
            self._stop_epmd()

    def kill(self) -> None:
        """Kill the node at once (a crash, for fault tests); epmd stays for a restart."""
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def pause(self) -> None:
        """Freeze the node (SIGSTOP): its sockets stay open and nothing answers."""
        self._signal(signal.SIGSTOP)

    def resume(self) -> None:
        self._signal(signal.SIGCONT)

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is not None and self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, sig)

    def _stop_epmd(self) -> None:
        epmd = shutil.which("epmd")
        if epmd:
            subprocess.run(
                [epmd, "-kill"],
                env=self.environment(),
                capture_output=True,
                timeout=10,
                check=False,
            )
