"""Driving wrk: one Lua script per target and run, and its figures as one JSON line.

The script sets a fixed request (method, headers, body) and a `done` hook
that prints the run's figures as JSON, so nothing is scraped from wrk's
human-readable summary. Requests, latencies in µs, and the error counts wrk
keeps: connect, read, write, timeout, and `status` (answers other than
2xx/3xx).
"""

from __future__ import annotations

import json
import resource
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

MARKER = "BENCH-RESULT "
# Latency above this counts as a timeout error: past the gateway's default deadline (10 s), so
# that a late request shows as the gateway's own answer (504, a non-2xx error), not as wrk's.
TIMEOUT_S = 15
# Past the run's duration, how long wrk may take to wind down before we call it stuck.
GRACE_S = 30.0

_DONE = r"""
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests":%.0f,"duration_us":%.0f,"bytes":%.0f,"connect":%.0f,"read":%.0f,' ..
    '"write":%.0f,"status":%.0f,"timeout":%.0f,"p50_us":%.0f,"p90_us":%.0f,' ..
    '"p99_us":%.0f,"max_us":%.0f,"mean_us":%.1f}\n',
    "MARKER", summary.requests, summary.duration, summary.bytes, e.connect, e.read,
    e.write, e.status, e.timeout, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, latency.mean))
end
""".replace("MARKER", MARKER)


@dataclass(frozen=True, slots=True)
class Request:
    """One HTTP request, sent again and again."""

    url: str
    headers: dict[str, str]
    body: bytes
    method: str = "POST"


@dataclass(frozen=True, slots=True)
class WrkResult:
    requests: int
    duration_s: float
    bytes: int
    errors_connect: int
    errors_read: int
    errors_write: int
    errors_status: int
    errors_timeout: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float
    wrk_cpu_seconds: float

    @property
    def errors(self) -> int:
        return (
            self.errors_connect
            + self.errors_read
            + self.errors_write
            + self.errors_status
            + self.errors_timeout
        )

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s if self.duration_s > 0 else 0.0


def lua_string(data: bytes) -> str:
    """A Lua string literal for any bytes (decimal escapes outside printable ASCII)."""
    out = []
    for byte in data:
        char = chr(byte)
        if 32 <= byte < 127 and char not in '"\\':
            out.append(char)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def script(request: Request) -> str:
    lines = [
        f"wrk.method = {lua_string(request.method.encode())}",
        f"wrk.body = {lua_string(request.body)}",
    ]
    lines += [
        f"wrk.headers[{lua_string(k.encode())}] = {lua_string(v.encode())}"
        for k, v in request.headers.items()
    ]
    return "\n".join(lines) + "\n" + _DONE


def wrk_binary() -> str:
    found = shutil.which("wrk")
    if found is None:
        raise RuntimeError(
            "wrk is not installed: `scripts/system-deps.sh bench` (or apt-get install wrk)"
        )
    return found


def run(
    request: Request,
    *,
    connections: int,
    duration: float,
    script_path: Path,
    threads: int = 1,
) -> WrkResult:
    """Run wrk against `request.url` for `duration` seconds with `connections` connections."""
    script_path.write_text(script(request))
    argv = [
        wrk_binary(),
        f"--threads={max(1, min(threads, connections))}",
        f"--connections={connections}",
        f"--duration={max(1, round(duration))}s",
        f"--timeout={TIMEOUT_S}s",
        f"--script={script_path}",
        request.url,
    ]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        argv, capture_output=True, text=True, timeout=duration + GRACE_S, check=False
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if done.returncode != 0:
        raise RuntimeError(f"wrk failed ({done.returncode}): {done.stderr.strip()[:500]}")
    line = next((ln for ln in done.stdout.splitlines() if ln.startswith(MARKER)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no result line:\n{done.stdout[-1000:]}")
    raw = json.loads(line[len(MARKER) :])
    cpu = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    return WrkResult(
        requests=int(raw["requests"]),
        duration_s=raw["duration_us"] / 1e6,
        bytes=int(raw["bytes"]),
        errors_connect=int(raw["connect"]),
        errors_read=int(raw["read"]),
        errors_write=int(raw["write"]),
        errors_status=int(raw["status"]),
        errors_timeout=int(raw["timeout"]),
        p50_ms=raw["p50_us"] / 1000,
        p90_ms=raw["p90_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        max_ms=raw["max_us"] / 1000,
        mean_ms=raw["mean_us"] / 1000,
        wrk_cpu_seconds=cpu,
    )
