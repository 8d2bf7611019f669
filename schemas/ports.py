"""One setting moves every port of a local stack: `port_offset` (`LGSP_PORT_OFFSET`).

Two stacks on one machine (a developer's `make run` and a test run, two
branches side by side) collide on every port: the broker's four, the
gateway's, each mock's and each worker's metrics port. With `port_offset = N`
each of them is moved by N, and so is every URL that points at one of them
on this machine -- the bus URL (which embeds the broker's AMQP port), each
adapter's `base_url` when it is a local mock, the management API URL when set.
Remote URLs are never touched. The broker's data directory moves too
(`var/rabbitmq` → `var/rabbitmq-<N>`): two nodes cannot share one. The
offset is applied once, when the settings are built (`Settings._move_ports`,
with `moved_url` below), and then reset to 0 so that settings rebuilt from a
dump are not moved twice; processes started by `lgsp dev` read the same file
and the same environment, so they agree.
"""

from __future__ import annotations

import urllib.parse

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


def moved_url(url: str, offset: int, *, only_port: int | None = None) -> str:
    """`url` with its port moved by `offset` when it points at this machine (and, when
    `only_port` is given, only if it is that port); anything else unchanged."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in LOCAL_HOSTS or parts.port is None:
        return url
    if only_port is not None and parts.port != only_port:
        return url
    userinfo, _, _hostport = parts.netloc.rpartition("@")
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    netloc = f"{userinfo}@" if userinfo else ""
    netloc += f"{host}:{parts.port + offset}"
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
