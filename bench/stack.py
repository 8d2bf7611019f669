"""The stack under test: a private broker node, the mock, a worker, the gateway, and the peers.

Everything runs as real processes from this checkout, bound to 127.0.0.1 on
free ports, configured for benchmarking (log level warning, no fault
injection, product defaults otherwise), with its files under one work
directory. `Stack` is a context manager: leaving it stops every process it
started, by pid, the broker node included, also after a failure or Ctrl-C.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from adapters.registry import Registry
from bench.auth import ClientCredentials, prepare_client
from bench.peers import PeerConfig
from bench.procstat import find_descendant
from gateway.broker import BrokerPorts, LocalBroker
from gateway.cli.init import generate_config
from gateway.config_file import to_toml
from gateway.private_files import write_private
from mocks.data import Dataset, ensure_dataset
from mocks.server import systems as mock_systems
from mocks.settings import DataSettings
from schemas.config import Settings

ROOT = Path(__file__).resolve().parent.parent
LOOKUP_PATH = "/csdldc/v1/TraCuuThongTinCongDan"
BENCH_ADAPTER = "population"
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0


@dataclass(frozen=True, slots=True)
class DataSize:
    """The mock's data set: the project's default size unless told otherwise."""

    data_dir: Path = Path("var/mockdata")
    citizens: int = DataSettings.model_fields["citizens"].default
    enterprises: int = DataSettings.model_fields["enterprises"].default
    insured: int = DataSettings.model_fields["insured"].default

    def settings(self) -> DataSettings:
        return DataSettings(
            data_dir=self.data_dir,
            citizens=self.citizens,
            enterprises=self.enterprises,
            insured=self.insured,
        )

    def environment(self) -> dict[str, str]:
        return {
            "LGSP_MOCK_DATA_DIR": str(self.data_dir.resolve()),
            "LGSP_MOCK_CITIZENS": str(self.citizens),
            "LGSP_MOCK_ENTERPRISES": str(self.enterprises),
            "LGSP_MOCK_INSURED": str(self.insured),
        }


@dataclass
class Child:
    name: str
    process: subprocess.Popen[bytes]
    log: Path


def _role(kind: str, adapter: str) -> str:
    """Process names: `mock` and `worker` serve the benchmark, `mock-business` ... stand by."""
    return kind if adapter == BENCH_ADAPTER else f"{kind}-{adapter}"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _fit(values: dict[str, Any], model: Any) -> dict[str, Any]:
    """Keep only the settings this checkout knows (sections come and go as features land)."""
    fields = getattr(model, "model_fields", {})
    kept: dict[str, Any] = {}
    for key, value in values.items():
        if key not in fields:
            continue
        annotation = fields[key].annotation
        if isinstance(value, dict) and hasattr(annotation, "model_fields"):
            value = _fit(value, annotation)
        kept[key] = value
    return kept


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def has_command(name: str) -> bool:
    """Whether this checkout's `lgsp` has a subcommand (e.g. `audit-writer`, issue 4)."""
    done = subprocess.run(
        [sys.executable, "-m", "gateway.cli", name, "--help"],
        cwd=ROOT,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return done.returncode == 0


def http_status(url: str, body: bytes | None = None, headers: dict[str, str] | None = None) -> int:
    request = urllib.request.Request(  # noqa: S310 (our own servers on 127.0.0.1)
        url, data=body, method="POST" if body is not None else "GET", headers=headers or {}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            resp.read()
            status: int = resp.status
            return status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


def _body(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:  # noqa: S310 (our own server)
            return str(resp.read()[:300])
    except urllib.error.HTTPError as exc:
        return str(exc.read()[:300])
    except OSError as exc:
        return type(exc).__name__


@dataclass
class Stack:
    work_dir: Path
    data: DataSize = field(default_factory=DataSize)
    with_peer: bool = True  # the aio-pika JsonRPC peer
    with_faststream: bool = True  # the FastStream request/reply peer
    worker_prefetch: int | None = None  # None: the project's default
    reply_path: str | None = None  # "queue" or "direct"; None: the project's default
    children: list[Child] = field(default_factory=list)
    broker: LocalBroker | None = None
    generated: dict[str, Any] = field(default_factory=dict)
    config_file: Path = Path()
    credentials: ClientCredentials | None = None
    example: dict[str, str] = field(default_factory=dict)
    gateway_url: str = ""
    mock_url: str = ""
    mock_urls: dict[str, str] = field(default_factory=dict)
    mockless: list[str] = field(default_factory=list)
    peer_url: str = ""
    faststream_url: str = ""
    broker_pid: int = 0

    # -- lifecycle -------------------------------------------------------------------------------

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "logs").mkdir(exist_ok=True)
        self.generated = generate_config()
        password = self.generated["broker"]["password"]
        # A fresh node every run: the password is new, and the broker only sets its
        # default user on an empty data directory (and a benchmark starts clean anyway).
        shutil.rmtree(self.work_dir / "rabbitmq", ignore_errors=True)
        self.broker = LocalBroker(
            self.work_dir / "rabbitmq", BrokerPorts.free(), "lgsp", password, "lgsp-bench"
        )
        self.broker.start()
        dataset = ensure_dataset(self.data.settings())  # built while the node boots
        with Dataset(dataset) as data:
            self.example = data.examples()["population"]
        self.broker.wait_ready()
        assert self.broker.process is not None
        beam = find_descendant(self.broker.process.pid, "beam.smp")
        if beam is None:
            raise RuntimeError("the broker node is up but no beam.smp process was found")
        self.broker_pid = beam
        # The gateway is ready only when every installed adapter has a worker: each gets its
        # mock and its worker; only the population ones are loaded and measured. Adapters
        # without a central mock (the audit adapter reads the audit store) get a worker only.
        installed = Registry.discover().names
        adapters = [a for a in installed if a in mock_systems()]
        self.mockless = [a for a in installed if a not in mock_systems()]
        if BENCH_ADAPTER not in adapters:
            raise RuntimeError(f"the {BENCH_ADAPTER!r} adapter is not installed")
        self.mock_urls = {a: f"http://127.0.0.1:{free_port()}" for a in adapters}
        self.mock_url = self.mock_urls[BENCH_ADAPTER]
        gateway_port, peer_port, faststream_port = free_port(), free_port(), free_port()
        self.gateway_url = f"http://127.0.0.1:{gateway_port}"
        self.peer_url = f"http://127.0.0.1:{peer_port}"
        self.faststream_url = f"http://127.0.0.1:{faststream_port}"
        self.config_file = self._write_config(gateway_port)
        self.credentials = prepare_client(self.config_file)

        for adapter, url in self.mock_urls.items():
            port = url.rsplit(":", 1)[1]
            self._spawn(
                _role("mock", adapter), "mock", adapter, "--host", "127.0.0.1", "--port", port
            )
        for adapter, url in self.mock_urls.items():
            health = url + "/_admin/health"
            self._wait_for(_role("mock", adapter), lambda h=health: http_status(h) == 200)
            self._spawn(_role("worker", adapter), "worker", adapter)
        for adapter in self.mockless:
            self._spawn(_role("worker", adapter), "worker", adapter)
        if has_command("audit-writer"):
            self._spawn("audit-writer", "audit-writer")
        self._spawn("gateway", "gateway")
        self._wait_for("gateway", lambda: http_status(self.gateway_url + "/readyz") == 200)
        if self.with_peer:
            peer = self._peer_config(peer_port)
            self._spawn_module("peer-worker", "bench.peers.worker", peer.to_environment())
            self._spawn_module("peer-front", "bench.peers.front", peer.to_environment())
        if self.with_faststream:
            env = self._peer_config(faststream_port).to_environment()
            self._spawn_module("faststream-worker", "bench.peers.faststream_worker", env)
            self._spawn_module("faststream-front", "bench.peers.faststream_front", env)

    def stop(self) -> None:
        # Callers first, then what they call: nobody retries against a stopped process.
        for child in reversed(self.children):
            if child.process.poll() is None:
                child.process.terminate()
            try:
                child.process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                child.process.kill()
                child.process.wait()
        self.children = []
        if self.broker is not None:
            self.broker.stop()
            self.broker = None

    # -- what the harness measures ---------------------------------------------------------------

    def pids(self) -> dict[str, int]:
        found = {child.name: child.process.pid for child in self.children}
        found["broker"] = self.broker_pid
        return found

    def check_alive(self) -> None:
        dead = [c.name for c in self.children if c.process.poll() is not None]
        if dead:
            raise RuntimeError(f"stopped unexpectedly: {', '.join(dead)}; {self.tails(dead)}")

    def tails(self, names: list[str] | None = None, lines: int = 12) -> str:
        out = []
        for child in self.children:
            if names is None or child.name in names:
                with contextlib.suppress(OSError):
                    text = child.log.read_text(errors="replace").splitlines()[-lines:]
                    out.append(f"--- {child.log}\n" + "\n".join(text))
        return "\n".join(out)

    def population_credentials(self) -> dict[str, str]:
        creds: dict[str, str] = self.generated["adapters"]["population"]["credentials"]
        return creds

    # -- plumbing --------------------------------------------------------------------------------

    def _write_config(self, gateway_port: int) -> Path:
        assert self.broker is not None
        work = self.work_dir.resolve()
        ours: dict[str, Any] = {
            "bus": {"url": self.broker.url}
            | ({"reply_path": self.reply_path} if self.reply_path else {}),
            # Every wrk connection comes from 127.0.0.1: the per-address cap (256 by default,
            # gateway/connections.py) would refuse most of the many-connections check's 1,000.
            "gateway": {
                "host": "127.0.0.1",
                "port": gateway_port,
                "processes": 1,
                "max_connections": 2048,
                "max_connections_per_address": 2048,
            },
            "adapters": {a: {"base_url": url} for a, url in self.mock_urls.items()},
            "log_level": "warning",
            "log_format": "json",
            "auth": {"keys_dir": str(work / "keys"), "token_ttl": 3600},
            "audit": {"store": str(work / "audit.sqlite3"), "spool_dir": str(work / "audit-spool")},
            "ops": {"maintenance_file": str(work / "maintenance")},
        }
        if self.worker_prefetch is not None:
            ours["worker"] = {"prefetch": self.worker_prefetch}
        values = _fit(_merge(self.generated, ours), Settings)
        values["adapters"] = {
            a: values["adapters"][a]
            for a in [*self.mock_urls, *self.mockless]
            if a in values["adapters"]
        }
        path = self.work_dir / "lgsp.toml"
        write_private(path, to_toml(values))
        return path

    def _environment(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("LGSP_")}
        env.update(self.data.environment())
        env.update(
            LGSP_CONFIG=str(self.config_file.resolve()),
            LGSP_LOG_LEVEL="warning",
            LGSP_LOG_FORMAT="json",
        )
        return env

    def _spawn(self, name: str, *args: str) -> None:
        self._popen(name, [sys.executable, "-m", "gateway.cli", *args], self._environment())

    def _spawn_module(self, name: str, module: str, env: dict[str, str]) -> None:
        self._popen(name, [sys.executable, "-m", module], {**self._environment(), **env})

    def _popen(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = self.work_dir / "logs" / f"{name}.log"
        with log.open("ab") as out:
            process = subprocess.Popen(
                argv,
                cwd=ROOT,
                env=env,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
            )
        self.children.append(Child(name, process, log))

    def _wait_for(self, name: str, ready: Any, timeout: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.check_alive()
            if ready():
                return
            time.sleep(0.2)
        said = _body(self.gateway_url + "/readyz") if name == "gateway" else ""
        raise RuntimeError(f"{name} was not ready within {timeout:.0f}s {said}; {self.tails()}")

    def _peer_config(self, port: int) -> PeerConfig:
        assert self.broker is not None
        creds = self.population_credentials()
        return PeerConfig(
            amqp_url=self.broker.url,
            port=port,
            central_url=self.mock_url,
            client=creds["client"],
            user=creds["user"],
            api_key=creds["api_key"],
            secret=creds["secret"],
        )
