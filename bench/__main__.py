"""`python -m bench`: run the benchmark and write docs/benchmarks.md and docs/benchmarks.json."""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import signal
import sys
from pathlib import Path
from types import FrameType
from typing import Any

from bench import profile
from bench.harness import TARGETS, Plan, run
from bench.machine import describe
from bench.report import markdown, summarise
from bench.stack import ROOT, DataSize, Stack


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--quick", action="store_true", help="one repetition of 3 s runs")
    p.add_argument("--repetitions", type=int, help="default 5 (1 with --quick)")
    p.add_argument("--duration", type=float, help="seconds per run, default 10 (3 with --quick)")
    p.add_argument("--connections", help="comma-separated, default 1,8,64,256")
    p.add_argument("--targets", help=f"comma-separated subset of {','.join(TARGETS)}")
    p.add_argument("--many-connections", type=int, default=1000, help="0 skips the check")
    p.add_argument("--many-duration", type=float, help="default: --duration")
    p.add_argument("--profile-duration", type=float, help="0 skips py-spy; default: --duration")
    p.add_argument("--warmup", type=float, help="seconds per target before measuring, default 2")
    p.add_argument("--threads", type=int, default=1, help="wrk threads (the machine is shared)")
    p.add_argument("--citizens", type=int, help="mock data-set size (default: the project's)")
    p.add_argument(
        "--worker-prefetch", type=int, help="the workers' prefetch (default: the project's)"
    )
    p.add_argument("--reply-path", choices=["queue", "direct"], help="the gateway's reply path")
    p.add_argument("--data-dir", type=Path, default=Path("var/mockdata"))
    p.add_argument(
        "--work-dir", type=Path, default=Path("var/bench"), help="broker, logs, profiles"
    )
    p.add_argument("--output-dir", type=Path, default=Path("docs"))
    p.add_argument(
        "--render",
        action="store_true",
        help="run nothing: rewrite the page from the output dir's JSON (and the work dir's "
        "py-spy files, when present)",
    )
    return p


def render(args: argparse.Namespace) -> int:
    """Rewrite benchmarks.md (and the derived parts of the JSON) from a finished run."""
    json_path = args.output_dir / "benchmarks.json"
    document = json.loads(json_path.read_text())
    fields = {f.name for f in dataclasses.fields(Plan)}
    saved: dict[str, Any] = {k: v for k, v in document["plan"].items() if k in fields}
    values: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in saved.items()}
    plan = Plan(**values)
    for name, summary in document.get("profiles", {}).items():
        raw = args.work_dir / "profiles" / f"{name}.raw"
        if raw.exists():
            fresh = profile.summarise(raw)
            document["profiles"][name] = {**summary, **fresh}
    result = {k: document.get(k) for k in ("runs", "many_connections", "profiles")}
    meta = {k: document[k] for k in ("machine", "data", "auth", "audit")}
    document["summary"] = summary_of = summarise(result, plan)
    json_path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    (args.output_dir / "benchmarks.md").write_text(markdown(summary_of, result, plan, meta))
    print(f"bench: rewrote {args.output_dir / 'benchmarks.md'} from {json_path}")
    return 0


def plan_of(args: argparse.Namespace) -> Plan:
    default = Plan()
    duration = args.duration or (3.0 if args.quick else default.duration)
    return Plan(
        repetitions=args.repetitions or (1 if args.quick else default.repetitions),
        connections=(
            tuple(int(c) for c in args.connections.split(","))
            if args.connections
            else default.connections
        ),
        duration=duration,
        targets=tuple(args.targets.split(",")) if args.targets else default.targets,
        many_connections=args.many_connections,
        many_duration=args.many_duration or duration,
        profile_duration=duration if args.profile_duration is None else args.profile_duration,
        warmup=args.warmup if args.warmup is not None else (1.0 if args.quick else 2.0),
        threads=args.threads,
    )


def data_of(args: argparse.Namespace) -> DataSize:
    size = DataSize(data_dir=args.data_dir)
    if args.citizens:
        # Smaller sets keep the other systems' sizes in proportion (insured ≤ citizens).
        size = dataclasses.replace(
            size,
            citizens=args.citizens,
            enterprises=min(size.enterprises, max(1, args.citizens // 5)),
            insured=min(size.insured, args.citizens),
        )
    return size


def _terminate(_sig: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through Stack.__exit__, which stops every process


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.render:
        return render(args)
    plan = plan_of(args)
    data = data_of(args)
    signal.signal(signal.SIGTERM, _terminate)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard == resource.RLIM_INFINITY or soft < hard:
        # Children inherit it: a thousand connections need more than the usual 1024 descriptors.
        resource.setrlimit(
            resource.RLIMIT_NOFILE, (hard if hard != resource.RLIM_INFINITY else 65536, hard)
        )
    machine = describe(ROOT)
    print(
        f"bench: {machine['cpu_model']}, {machine['cores']} cores; starting the stack", flush=True
    )
    with Stack(
        args.work_dir,
        data,
        with_peer="peer" in plan.targets,
        with_faststream="faststream" in plan.targets,
        worker_prefetch=args.worker_prefetch,
        reply_path=args.reply_path,
    ) as stack:
        print(f"bench: stack up (work dir {args.work_dir}); {plan}", flush=True)
        result = run(plan, stack, progress=lambda line: print(line, flush=True))
        meta: dict[str, Any] = {
            "machine": machine,
            "data": f"{data.citizens} citizens (seed {data.settings().seed})",
            "auth": "bearer token from POST /token (client credentials), rate limit off"
            if stack.credentials is not None
            else "none (this gateway has no /token yet)",
            "audit": "audit-writer process running"
            if "audit-writer" in stack.pids()
            else "no audit writer in this checkout: lgsp.audit emptied between runs",
        }
    summary = summarise(result, plan)
    document = {**meta, "plan": dataclasses.asdict(plan), "summary": summary, **result}
    args.output_dir.mkdir(parents=True, exist_ok=True)
    json_path = args.output_dir / "benchmarks.json"
    md_path = args.output_dir / "benchmarks.md"
    json_path.write_text(json.dumps(document, indent=1, ensure_ascii=False) + "\n")
    md_path.write_text(markdown(summary, result, plan, meta))
    for goal in summary["goals"]:
        print(f"goal: {goal['goal']}: {goal['measured']} (met: {goal['met']})")
    print(f"bench: wrote {md_path} and {json_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
