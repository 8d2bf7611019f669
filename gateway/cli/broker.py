"""`lgsp broker run`: only the private RabbitMQ node, in the foreground until Ctrl-C."""

from __future__ import annotations

import signal
import threading
from types import FrameType

from adapters.errors import ConfigError
from gateway.broker import BrokerPorts, LocalBroker
from schemas.config import Settings


def local_broker(settings: Settings) -> LocalBroker:
    """The node `broker.*` describes (data directory, ports, the generated password)."""
    b = settings.broker
    password = b.password.get_secret_value()
    if not password:
        raise ConfigError("no broker password configured: run `lgsp init` (make run does) first")
    ports = BrokerPorts(b.amqp_port, b.management_port, b.dist_port, b.epmd_port)
    return LocalBroker(b.data_dir, ports, b.user, password)


def run_broker(settings: Settings) -> int:
    broker = local_broker(settings)
    stop = threading.Event()

    def on_signal(_sig: int, _frame: FrameType | None) -> None:
        stop.set()

    # Both: a background job of a non-interactive shell starts with SIGINT ignored.
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    broker.start()
    try:
        broker.wait_ready()
        print(f"RabbitMQ ready at 127.0.0.1:{broker.ports.amqp} (Ctrl-C stops it)", flush=True)
        while not stop.wait(0.5):
            if not broker.running:
                print("RabbitMQ exited; see", broker.log_file, flush=True)
                return 1
        return 0
    finally:
        broker.stop()
