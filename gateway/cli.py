"""The `lgsp` command: every process of the stack, and the operator's tools."""

from __future__ import annotations

import argparse
import asyncio
import shutil
import sys
from collections.abc import Callable, Sequence

from adapters.errors import LgspError
from adapters.logs import configure_logging
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
    from gateway.dev import mock_environment
    from mocks.server import main as mock_main

    mock_environment(settings)
    argv = [args.system] + (["--port", str(args.port)] if args.port else [])
    argv += ["--host", args.host] if args.host else []
    status: int = mock_main(argv)
    return status


def _dev(_args: argparse.Namespace, settings: Settings) -> int:
    from gateway.dev import run_dev

    return run_dev(settings)


def _init(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.bootstrap import write_config

    path = config_path()
    if write_config(path, force=args.force):
        print(f"wrote {path} with newly generated demo credentials")
        broker_data = settings.broker.data_dir
        if args.force and broker_data.exists():
            # RabbitMQ sets its user only on an empty node: the new password needs a new node.
            shutil.rmtree(broker_data)
            print(f"removed {broker_data}: the local broker starts afresh with the new password")
    else:
        print(f"{path} exists; keeping it (use --force to regenerate)")
    return 0


def _broker(args: argparse.Namespace, settings: Settings) -> int:
    from gateway.dev import local_broker

    broker = local_broker(settings)
    if args.action == "run":
        broker.start()
        broker.wait_ready()
        print(f"RabbitMQ ready at 127.0.0.1:{broker.ports.amqp} (Ctrl-C stops it)")
        try:
            assert broker.process is not None
            broker.process.wait()
        except KeyboardInterrupt:
            pass
        finally:
            broker.stop()
    return 0


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

    p = sub.add_parser("mock", help="run a mock central system")
    p.add_argument("system", choices=["population", "business", "insurance"])
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.set_defaults(func=_mock)

    p = sub.add_parser("dev", help="the whole stack in the foreground (what `make run` runs)")
    p.set_defaults(func=_dev)

    p = sub.add_parser("init", help="write var/lgsp.toml with generated demo credentials")
    p.add_argument("--force", action="store_true")
    p.set_defaults(func=_init)

    p = sub.add_parser("broker", help="the private local RabbitMQ node")
    p.add_argument("action", choices=["run"])
    p.set_defaults(func=_broker)

    from gateway.opscli import add_commands

    add_commands(sub)  # queues, dlq, maintenance
    from gateway import security_commands

    security_commands.add_commands(sub)  # clients, keys, audit, audit-writer
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
