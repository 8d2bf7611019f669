"""The `lgsp` command: every process of the stack, and the operator's tools.

Sub-commands import what they run when they run (a worker never loads the
gateway's HTTP stack, `lgsp --help` stays quick).
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from adapters.errors import LgspError
from adapters.logs import configure_logging
from gateway.cli import ops, security
from schemas.config import Settings, config_path

Command = Callable[[argparse.Namespace, Settings], int]


def _gateway(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.server import run_gateway

    if args.port:
        settings.gateway.port = args.port
    if args.host:
        settings.gateway.host = args.host
    return run_gateway(settings, processes=args.processes, reuse_port=args.reuse_port)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from adapters.runner import run_worker

    if args.metrics_port:
        settings.worker.metrics_port = args.metrics_port
    return run_worker(args.adapter, settings)


def _mock(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.cli.dev import mock_environment, mock_port
    from mocks.server import main as mock_main

    mock_environment(settings)
    port = args.port or mock_port(settings, args.system)
    argv = [args.system] + (["--port", str(port)] if port else [])
    argv += ["--host", args.host] if args.host else []
    status: int = mock_main(argv)
    return status


def _dev(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.cli.dev import run_dev

    return run_dev(settings, use_running_broker=args.use_running_broker)


def _init(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.cli.init import write_config

    path = config_path()
    if write_config(path, force=args.force):
        print(f"wrote {path} with newly generated demo credentials")
        broker_data = settings.broker.data_dir
        if args.force and broker_data.exists():
            # RabbitMQ sets its user only on an empty node: the new password needs a new node.
            shutil.rmtree(broker_data)
            print(f"removed {broker_data}: the local broker starts afresh with the new password")
    else:
        from gateway.cli.init import add_installed_adapters

        added = add_installed_adapters(path)
        for name in added:
            print(f"added [adapters.{name}] to {path}: its default base URL, new demo credentials")
        print(f"{path} exists; kept the rest of it (use --force to regenerate)")
    return 0


def _new(args: argparse.Namespace, _settings: Settings) -> int:
    from gateway.cli.scaffold import run_new

    return run_new(args.kind, args.name, Path(args.dir), args.title, args.port)


def _broker(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.cli.broker import run_broker, run_cluster

    return run_cluster(settings, args.nodes) if args.nodes > 1 else run_broker(settings)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="lgsp", description="LGSP Gateway")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("gateway", help="serve the HTTP gateway")
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--processes", type=int, default=1, help="processes sharing the port")
    p.add_argument("--reuse-port", action="store_true", help=argparse.SUPPRESS)
    p.set_defaults(func=_gateway)

    p = sub.add_parser("worker", help="run the worker of one adapter")
    p.add_argument("adapter")
    p.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on this port")
    p.set_defaults(func=_worker)

    from mocks.server import systems

    p = sub.add_parser("mock", help="run a mock central system")
    p.add_argument("system", choices=list(systems()))
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=_mock)

    p = sub.add_parser("dev", help="the whole stack in the foreground (what `make run` runs)")
    p.add_argument(
        "--use-running-broker",
        action="store_true",
        help="use a RabbitMQ node already answering on the broker's port (refused otherwise)",
    )
    p.set_defaults(func=_dev)

    p = sub.add_parser("init", help="write var/lgsp.toml with generated demo credentials")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_init)

    p = sub.add_parser("new", help="scaffold a new adapter package (lgsp new adapter NAME)")
    p.add_argument("kind", choices=["adapter"])
    p.add_argument("name", help="the adapter's name, e.g. land-registry (a URL segment)")
    p.add_argument("--dir", default=".", help="where to write lgsp-NAME/ (default: here)")
    p.add_argument("--title", help="the central system's name, for docs and the banner")
    p.add_argument("--port", type=int, default=8710, help="its mock's port in a local run")
    p.set_defaults(func=_new)

    p = sub.add_parser("broker", help="the private local RabbitMQ node (or cluster)")
    p.add_argument("action", choices=["run"])
    p.add_argument(
        "--nodes",
        type=int,
        default=1,
        choices=range(1, 10),
        metavar="N",
        help="a cluster of N joined nodes on consecutive ports (default 1)",
    )
    p.set_defaults(func=_broker)

    ops.add_commands(sub)  # queues, dlq, maintenance
    security.add_commands(sub)  # clients, keys, audit, audit-writer
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    try:
        result: int = args.func(args, settings)
    except LgspError as exc:
        print(f"lgsp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return result


if __name__ == "__main__":
    asyncio.set_event_loop_policy(None)
    sys.exit(main())
