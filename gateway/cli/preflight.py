"""What `lgsp dev` checks before it starts anything, so that it never mixes with another stack.

- A broker already answering on its AMQP port is not ours: `lgsp dev` refuses it
  unless told `--use-running-broker` (it would otherwise attach to someone else's
  node, with its queues, users and consumers).
- Every port it is about to serve on (the gateway, the mocks, the workers' metrics)
  must be free, and no two of them the same: a gateway that dies on "address
  already in use" while another answers on the same port would make the stack
  look ready when it is not.
- Installed adapters without configuration are named, with the command that
  configures them; they are not served.

Each refusal says how to run beside the other stack: `LGSP_PORT_OFFSET=N`.
"""

from __future__ import annotations

from adapters.errors import ConfigError
from adapters.registry import Registry
from gateway.broker import LocalBroker, amqp_answers, port_open
from schemas.config import Settings

MOVE_HINT = "or run this stack beside it with every port moved: `LGSP_PORT_OFFSET=100 lgsp dev`"


def broker_is_running(broker: LocalBroker, *, use_running: bool) -> bool:
    """True when a node already answers and we may use it; ConfigError when we may not."""
    if not amqp_answers(broker.ports.amqp):
        return False
    if not use_running:
        raise ConfigError(
            f"a RabbitMQ node that this `lgsp dev` did not start already answers on "
            f"127.0.0.1:{broker.ports.amqp}; stop it, pass --use-running-broker to use it, "
            + MOVE_HINT
        )
    return True


def refuse_taken_ports(ports: dict[str, int]) -> None:
    """ConfigError naming every port (by what would serve on it) that something listens on,
    or that two of ours would share (two adapters' mocks configured on one port)."""
    owners: dict[int, list[str]] = {}
    for name, port in ports.items():
        if port:
            owners.setdefault(port, []).append(name)
    shared = [f"{' and '.join(names)} ({port})" for port, names in owners.items() if len(names) > 1]
    if shared:
        raise ConfigError(
            "two parts of this stack would serve on one port: "
            + ", ".join(shared)
            + "; give one of them another port (e.g. its adapter's base_url in the config)"
        )
    taken = [f"{name} ({port})" for name, port in ports.items() if port and port_open(port)]
    if taken:
        raise ConfigError(
            "these ports on 127.0.0.1 are taken by another process: "
            + ", ".join(taken)
            + "; stop it, "
            + MOVE_HINT
        )


def served_adapters(settings: Settings, registry: Registry) -> tuple[Registry, list[str]]:
    """The configured adapters, and one line per installed adapter that is not configured."""
    served, unconfigured = registry.configured(settings)
    notes = [
        f"adapter {name!r} is installed but not configured: not served "
        f"(`lgsp init` adds its [adapters.{name}] section)"
        for name in unconfigured
    ]
    return served, notes
