"""`lgsp dev`: the whole stack in the foreground, what `make run` runs.

Starts the private RabbitMQ node (a node it did not start is refused unless
`--use-running-broker`), the mock central systems, one worker per configured
adapter and the gateway, each a real process with its output
prefixed by its name; waits for readiness, prints the URL and a curl that
works; restarts a child that exits (supervisor.py); on Ctrl-C or SIGTERM
stops everything it started, the broker included.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from types import FrameType
from typing import IO

from adapters.registry import Registry
from gateway.cli import preflight
from gateway.cli.broker import local_broker
from gateway.cli.examples import banner, dashboard_lines
from gateway.cli.supervisor import MAX_RESTARTS, WINDOW, Supervisor
from mocks.server import systems as mock_systems
from schemas.config import Settings

READY_TIMEOUT = 180.0  # the first run generates the mocks' data sets
SUPERVISION_NOTE = (
    "A child that exits is restarted with backoff (the lines above say so); a child that "
    f"exits {MAX_RESTARTS + 1} times within {WINDOW:.0f}s stops the stack."
)


def mock_environment(settings: Settings) -> dict[str, str]:
    """The mocks' settings: the flat `[mocks]` keys, and every adapter's credentials as JSON
    (`LGSP_MOCK_CREDENTIALS`, read by `MockSettings.credentials_for`) for third-party mocks."""
    env = {f"LGSP_MOCK_{key.upper()}": value for key, value in settings.mocks.items()}
    credentials = {
        name: {k: v.get_secret_value() for k, v in adapter.credentials.items()}
        for name, adapter in settings.adapters.items()
    }
    env["LGSP_MOCK_CREDENTIALS"] = json.dumps(credentials)
    os.environ.update(env)
    return env


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    pump: threading.Thread | None = field(default=None, repr=False)


def _pump(name: str, stream: IO[bytes]) -> None:
    prefix = f"{name:>18} | ".encode()
    for line in iter(stream.readline, b""):
        sys.stdout.buffer.write(prefix + line)
        sys.stdout.buffer.flush()


def _start(child: Child, env: dict[str, str]) -> None:
    process = subprocess.Popen(
        child.argv,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    child.process = process
    if process.stdout is not None:  # always: stdout=PIPE
        child.pump = threading.Thread(target=_pump, args=(child.name, process.stdout), daemon=True)
        child.pump.start()


def _stop(children: Iterable[Child], grace: float) -> None:
    running = [c.process for c in children if c.process and c.process.poll() is None]
    for process in running:
        process.terminate()
    for process in running:
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _wait_ready(url: str, supervisor: Supervisor[Child], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if (reason := supervisor.check()) is not None:
            print(f"stopping: {reason}", file=sys.stderr)
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (our own http URL)
                if resp.status == 200:
                    return True
        except OSError:
            pass
        time.sleep(0.5)
    return False


def _alive(child: Child) -> bool:
    return child.process is not None and child.process.poll() is None


def mock_port(settings: Settings, system: str) -> int:
    """Where a mock is served: the port its adapter is configured to call (0: a free one)."""
    return urllib.parse.urlsplit(settings.adapter(system).base_url).port or 0


def run_dev(settings: Settings, *, use_running_broker: bool = False) -> int:
    registry, notes = preflight.served_adapters(settings, Registry.discover())
    for note in notes:
        print(note, flush=True)
    systems = [s for s in mock_systems() if s in registry.names]
    metrics_base = settings.worker.metrics_port or settings.worker.metrics_base_port
    own_ports = {"gateway": settings.gateway.port}
    own_ports |= {f"mock {s}": mock_port(settings, s) for s in systems}
    own_ports |= {f"metrics of {a}": metrics_base + i for i, a in enumerate(registry.names)}
    preflight.refuse_taken_ports(own_ports)
    broker = local_broker(settings)
    owned = False
    if preflight.broker_is_running(broker, use_running=use_running_broker):
        print(f"using the RabbitMQ node already on 127.0.0.1:{broker.ports.amqp}")
    else:
        print(f"starting RabbitMQ on 127.0.0.1:{broker.ports.amqp} (data in {broker.data_dir})")
        broker.start()
        owned = True
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    children: list[Child] = []
    try:
        if owned:
            broker.wait_ready()
        env = {**os.environ, **mock_environment(settings), "LGSP_LOG_FORMAT": "console"}
        cli = [sys.executable, "-m", "gateway.cli"]
        children = [
            Child(f"mock:{s}", [*cli, "mock", s, "--port", str(mock_port(settings, s))])
            for s in systems
        ]
        children += [
            Child(f"worker:{a}", [*cli, "worker", a, "--metrics-port", str(metrics_base + i)])
            for i, a in enumerate(registry.names)
        ]
        children.append(Child("audit-writer", [*cli, "audit-writer"]))
        children.append(Child("gateway", [*cli, "gateway"]))
        for child in children:
            _start(child, env)
        # A child that exits is started again, with backoff (gateway/cli/supervisor.py).
        supervisor = Supervisor(children, lambda child: _start(child, env))
        gw = settings.gateway
        base = f"http://{gw.host}:{gw.port}"
        gateway = children[-1]
        # Ready means *our* gateway answers: its port was free before it started, and it lives.
        if _wait_ready(base + "/readyz", supervisor, READY_TIMEOUT) and _alive(gateway):
            print(banner(base, registry), flush=True)
            print(dashboard_lines(base, settings.ops.token.get_secret_value()), flush=True)
            print(SUPERVISION_NOTE, flush=True)
        elif not stop.is_set():
            print("the stack did not become ready; see the lines above", file=sys.stderr)
            return 1
        while not stop.is_set():
            if (reason := supervisor.check()) is not None:
                print(f"stopping: {reason}", file=sys.stderr)
                return 1
            stop.wait(0.2)
        return 0
    finally:
        print("stopping the stack ...", flush=True)
        _stop(reversed(children), settings.gateway.shutdown_grace + 5)
        if owned:
            broker.stop()
        print("stopped", flush=True)
