"""The benchmark: the same citizen lookup three ways, interleaved, measured the same way.

* **direct**: wrk straight to the population mock's SOAP endpoint, with the
  X-Road signature computed afresh for each run (the mock accepts a timestamp
  within 300 s of its clock);
* **gateway**: `POST /v1/population/citizen-verify` through the whole product
  (token, access rights, purpose trail, validation, bus, worker, audit);
* **peer**: the same lookup through bench/peers (aiohttp + aio-pika JsonRPC);
* **faststream**: the same lookup through bench/peers' second peer (aiohttp +
  FastStream's RabbitMQ request/reply, `broker.request`).

For each repetition, each connection count and each target (in an order that
rotates between repetitions) wrk runs for a fixed time while every process's
CPU time and peak memory are metered. Then a many-connections check of the
gateway, and py-spy samples of the gateway and the worker under load.
"""

from __future__ import annotations

import base64
import json
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from adapters.population import wire
from bench import profile, wrk
from bench.auth import bearer_headers
from bench.procstat import Meter, cpu_seconds
from bench.stack import LOOKUP_PATH, Stack
from mocks import xroad

TARGETS = ("direct", "gateway", "peer", "faststream")
# The alternatives the gateway is compared with; goals take the better of them.
PEERS = ("peer", "faststream")
# Which processes serve each target: their CPU is the target's cost per request.
SERVING: dict[str, tuple[str, ...]] = {
    "direct": ("mock",),
    "gateway": ("gateway", "worker", "audit-writer", "broker", "mock"),
    "peer": ("peer-front", "peer-worker", "broker", "mock"),
    "faststream": ("faststream-front", "faststream-worker", "broker", "mock"),
}
API_PATH = "/v1/population/citizen-verify"
PURPOSE = {
    "LGSP-Officer-Id": "OFF-001",
    "LGSP-Procedure-Code": "1.001612",
    "LGSP-Case-Id": "CASE-1",
}
# The mock's clock-skew window is 300 s; a run must finish well inside it.
MAX_DIRECT_RUN_S = 240.0
SETTLE_TIMEOUT_S = 60.0

Progress = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class Plan:
    repetitions: int = 5
    connections: tuple[int, ...] = (1, 8, 64, 256)
    duration: float = 10.0
    targets: tuple[str, ...] = TARGETS
    many_connections: int = 1000  # 0: skip the check
    many_duration: float = 10.0
    profile_duration: float = 10.0  # 0: no profile
    profile_connections: int = 64
    warmup: float = 2.0
    pause: float = 0.5
    threads: int = 1

    def __post_init__(self) -> None:
        if self.duration > MAX_DIRECT_RUN_S:
            raise ValueError(f"a run lasts at most {MAX_DIRECT_RUN_S:.0f}s (the mock's skew)")
        unknown = set(self.targets) - set(TARGETS)
        if unknown:
            raise ValueError(f"unknown targets: {', '.join(sorted(unknown))}")


class Targets:
    """The request each target gets, built fresh before each run (signatures, tokens)."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        ex = stack.example
        born = ex["NgayThangNamSinh"]
        self.json_body = json.dumps(
            {
                "personal_id": ex["SoDinhDanh"],
                "full_name": ex["HoVaTen"],
                "date_of_birth": f"{born[:4]}-{born[4:6]}-{born[6:]}",
            },
            ensure_ascii=False,
        ).encode()
        self.soap_body = wire.envelope(
            "TraCuuThongTinCongDan",
            {
                "MaYeuCau": uuid.uuid4().hex,
                "MaDVC": PURPOSE["LGSP-Procedure-Code"],
                "MaCanBo": PURPOSE["LGSP-Officer-Id"],
                "MaDonVi": "000.00.31.H29",
                "SoDinhDanh": ex["SoDinhDanh"],
                "HoVaTen": ex["HoVaTen"],
                "NgayThangNamSinh": born,
            },
        )

    def request(self, target: str) -> wrk.Request:
        stack = self.stack
        json_headers = {"Content-Type": "application/json", **PURPOSE}
        if target == "direct":
            creds = stack.population_credentials()
            signed = xroad.headers(
                LOOKUP_PATH, creds["client"], creds["user"], creds["api_key"], creds["secret"]
            )
            headers = {
                **signed,
                "Content-Type": "text/xml; charset=utf-8",
                "SOAPAction": '"TraCuuThongTinCongDan"',
            }
            return wrk.Request(stack.mock_url + LOOKUP_PATH, headers, self.soap_body)
        if target == "gateway":
            auth = bearer_headers(stack.gateway_url, stack.credentials)
            return wrk.Request(
                stack.gateway_url + API_PATH, {**json_headers, **auth}, self.json_body
            )
        if target == "faststream":
            return wrk.Request(stack.faststream_url + API_PATH, json_headers, self.json_body)
        return wrk.Request(stack.peer_url + API_PATH, json_headers, self.json_body)


def send(request: wrk.Request) -> tuple[int, bytes]:
    http = urllib.request.Request(  # noqa: S310 (our own servers on 127.0.0.1)
        request.url, data=request.body, method=request.method, headers=request.headers
    )
    try:
        with urllib.request.urlopen(http, timeout=15) as resp:  # noqa: S310
            body: bytes = resp.read()
            return resp.status, body
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except OSError:
        return 0, b""


def check(target: str, targets: Targets, within: float = 60.0) -> None:
    """One real call answers 200 with a match (retried while the target is still starting)."""
    deadline = time.monotonic() + within
    status, body = 0, b""
    while time.monotonic() < deadline:
        status, body = send(targets.request(target))
        if status == 200:
            break
        targets.stack.check_alive()
        time.sleep(0.3)
    if status != 200:
        raise RuntimeError(f"{target}: the check call answered {status}: {body[:300]!r}")
    matched = b"<dc:KetQuaDoiChieu>KHOP<" in body if target == "direct" else _matched(body)
    if not matched:
        raise RuntimeError(f"{target}: the check call did not match the example: {body[:300]!r}")


def _matched(body: bytes) -> bool:
    try:
        return json.loads(body).get("matched") is True
    except ValueError:
        return False


def purge_audit_queue(stack: Stack) -> None:
    """Without an audit writer nobody consumes `lgsp.audit`: empty it between runs."""
    broker = stack.broker
    if broker is None or "audit-writer" in stack.pids():
        return
    token = base64.b64encode(f"{broker.user}:{broker.password}".encode()).decode()
    request = urllib.request.Request(  # noqa: S310 (our own node on 127.0.0.1)
        f"{broker.management_url}/api/queues/%2F/{urllib.parse.quote('lgsp.audit')}/contents",
        method="DELETE",
        headers={"Authorization": f"Basic {token}"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            resp.read()
    except OSError:
        pass  # the management plugin may still be starting; the next purge catches up


def settle(stack: Stack, within: float = SETTLE_TIMEOUT_S) -> float:
    """Wait until the stack is idle again (wrk leaves requests in flight when it stops).

    Idle: the processes under test used less than 5% of a core over a quarter second.
    Returns the seconds waited.
    """
    pids = {n: p for n, p in stack.pids().items() if n != "broker"}
    started = time.monotonic()
    while time.monotonic() - started < within:
        before = sum(cpu_seconds(p) for p in pids.values())
        time.sleep(0.25)
        if sum(cpu_seconds(p) for p in pids.values()) - before < 0.05 * 0.25 * len(pids):
            break
    return time.monotonic() - started


PROBE_LOOPS = 200_000


def speed_probe(tries: int = 3) -> float:
    """Milliseconds one core takes for a fixed pure-Python loop (the best of `tries`).

    Shared virtual machines change speed from one second to the next; the probe, run
    before every measurement, shows how much, so that readers know how far to trust
    comparisons between runs (ratios within one run share the machine's speed).
    """
    best = float("inf")
    for _ in range(tries):
        started = time.perf_counter()
        total = 0
        for i in range(PROBE_LOOPS):
            total += i * i
        best = min(best, time.perf_counter() - started)
    return best * 1000


def measure(
    stack: Stack,
    targets: Targets,
    target: str,
    connections: int,
    duration: float,
    plan: Plan,
    label: str,
) -> dict[str, Any]:
    settle(stack)
    probe_ms = speed_probe()
    request = targets.request(target)
    meter = Meter(stack.pids())
    meter.start()
    result = wrk.run(
        request,
        connections=connections,
        duration=duration,
        script_path=stack.work_dir / f"{target}.lua",
        threads=plan.threads if connections < 1000 else max(plan.threads, 2),
    )
    usage = meter.stop()
    stack.check_alive()
    requests = max(result.requests, 1)
    figures = asdict(result)
    ours = sum(u.cpu_seconds for u in usage.values()) + result.wrk_cpu_seconds
    seconds = max(result.duration_s, 1e-9)
    return {
        "label": label,
        "target": target,
        "connections": connections,
        **figures,
        "rps": result.rps,
        "errors": result.errors,
        # Cores busy with anything else (other people's work on a shared machine): noise.
        "speed_probe_ms": probe_ms,
        "machine_busy_cores": meter.machine_seconds / seconds,
        "others_busy_cores": max(0.0, meter.machine_seconds - ours) / seconds,
        "cpu_seconds": {name: u.cpu_seconds for name, u in usage.items()},
        "cpu_us_per_request": {name: 1e6 * u.cpu_seconds / requests for name, u in usage.items()},
        "peak_rss_mib": {name: u.peak_rss_bytes / 2**20 for name, u in usage.items()},
    }


def run(plan: Plan, stack: Stack, progress: Progress = print) -> dict[str, Any]:
    """Everything the report needs, from a started stack."""
    targets = Targets(stack)
    if "peer" in plan.targets and not stack.with_peer:
        raise ValueError("the plan has the peer target but the stack runs no peer")
    if "faststream" in plan.targets and not stack.with_faststream:
        raise ValueError("the plan has the faststream target but the stack runs no such peer")
    for target in plan.targets:
        check(target, targets)
    progress(f"checked: {', '.join(plan.targets)} answer 200 with a match")
    if plan.warmup > 0:
        for target in plan.targets:
            measure(stack, targets, target, 64, plan.warmup, plan, "warmup")
            purge_audit_queue(stack)
    runs: list[dict[str, Any]] = []
    total = plan.repetitions * len(plan.connections) * len(plan.targets)
    for rep in range(plan.repetitions):
        shift = rep % len(plan.targets)
        order = plan.targets[shift:] + plan.targets[:shift]
        for connections in plan.connections:
            for target in order:
                time.sleep(plan.pause)
                record = measure(stack, targets, target, connections, plan.duration, plan, "run")
                record["repetition"] = rep + 1
                runs.append(record)
                purge_audit_queue(stack)
                progress(
                    f"[{len(runs)}/{total}] rep {rep + 1} c={connections:<4} {target:<8}"
                    f" {record['rps']:8.0f} req/s  p50 {record['p50_ms']:7.2f} ms"
                    f"  p99 {record['p99_ms']:7.2f} ms  errors {record['errors']}"
                )
    many: dict[str, Any] | None = None
    if plan.many_connections and "gateway" in plan.targets:
        time.sleep(plan.pause)
        many = measure(
            stack, targets, "gateway", plan.many_connections, plan.many_duration, plan, "many"
        )
        purge_audit_queue(stack)
        progress(
            f"gateway with {plan.many_connections} connections: {many['rps']:.0f} req/s, "
            f"errors {many['errors']}, gateway peak RSS {many['peak_rss_mib']['gateway']:.0f} MiB"
        )
    profiles: dict[str, Any] = {}
    if plan.profile_duration > 0 and "gateway" in plan.targets:
        profiles = profile_gateway(stack, targets, plan)
        progress(
            "profiled: " + ", ".join(f"{k} ({v['samples']} samples)" for k, v in profiles.items())
        )
    return {"runs": runs, "many_connections": many, "profiles": profiles}


def profile_gateway(stack: Stack, targets: Targets, plan: Plan) -> dict[str, Any]:
    """py-spy on the gateway and the worker while the gateway serves `profile_connections`."""
    pids = {name: pid for name, pid in stack.pids().items() if name in ("gateway", "worker")}
    out_dir = stack.work_dir / "profiles"
    if profile.py_spy() is None:
        return {}  # py-spy is in the dev dependency group; without it, no profile
    settle(stack)
    started = profile.record(pids, plan.profile_duration, out_dir)
    try:
        load = measure(
            stack,
            targets,
            "gateway",
            plan.profile_connections,
            plan.profile_duration + 1,
            plan,
            "profile",
        )
    finally:
        profile.finish(started, plan.profile_duration + 30)
    purge_audit_queue(stack)
    summaries = {name: profile.summarise(out_dir / f"{name}.raw") for name in pids}
    for name, summary in summaries.items():
        summary["load_rps"] = load["rps"]
        summary["connections"] = plan.profile_connections
        summary["duration_s"] = load["duration_s"]
        summary["cpu_seconds"] = load["cpu_seconds"][name]
        summary["cpu_us_per_request"] = load["cpu_us_per_request"][name]
    return summaries
