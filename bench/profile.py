"""Where the CPU goes: py-spy samples of a process under load, summarised.

`record` starts `py-spy record --format raw` on each process (collapsed stacks,
one `frame;frame;... count` line per distinct stack, idle threads left out,
so samples are time on the CPU or waiting for the GIL). `summarise` turns a
raw file into the top functions by self time and by inclusive time, and self
time by component (the package a frame's file belongs to).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

RATE_HZ = 100
OUR_PACKAGES = ("gateway/", "adapters/", "schemas/", "bench/")
# Process entry points: under everything that runs on the main task, so never informative.
ENTRY_FILES = (
    "gateway/cli/__main__.py",
    "gateway/cli/main.py",
    "gateway/server.py",
    "adapters/runner.py",
)
TOP = 15

# Components by the package part py-spy shows of a file name; the rest are "stdlib"/"other".
COMPONENTS = {
    "aiohttp": "aiohttp (HTTP server/client)",
    "multidict": "aiohttp (HTTP server/client)",
    "yarl": "aiohttp (HTTP server/client)",
    "aio_pika": "aio-pika (AMQP client)",
    "aiormq": "aiormq/pamqp (AMQP protocol)",
    "pamqp": "aiormq/pamqp (AMQP protocol)",
    "pydantic": "pydantic (validation)",
    "pydantic_core": "pydantic (validation)",
    "structlog": "structlog (logging)",
    "jwt": "PyJWT/cryptography (tokens)",
    "cryptography": "PyJWT/cryptography (tokens)",
    "defusedxml": "XML parsing",
    "xml": "XML parsing",
    "prometheus_client": "prometheus-client (metrics)",
    "tenacity": "tenacity (retries)",
    "asyncio": "asyncio/uvloop (event loop)",
    "uvloop": "asyncio/uvloop (event loop)",
    "gateway": "our code: gateway/",
    "adapters": "our code: adapters/",
    "schemas": "our code: schemas/",
    "bench": "bench peers",
}


def py_spy() -> str | None:
    found = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    return found if Path(found).exists() else None


def record(
    pids: dict[str, int], duration: float, out_dir: Path
) -> dict[str, subprocess.Popen[bytes]]:
    """Start sampling each process for `duration` seconds; wait with `finish`."""
    binary = py_spy()
    if binary is None:
        raise RuntimeError("py-spy is not installed: pip install 'py-spy>=0.3.14' (dev group)")
    out_dir.mkdir(parents=True, exist_ok=True)
    started = {}
    for name, pid in pids.items():
        seconds = str(max(1, round(duration)))
        output = str(out_dir / f"{name}.raw")
        argv = [binary, "record", "--pid", str(pid), "--duration", seconds, "--rate", str(RATE_HZ)]
        argv += ["--nolineno", "--nonblocking", "--format", "raw", "--output", output]
        log = (out_dir / f"{name}.py-spy.log").open("wb")
        started[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        log.close()
    return started


def finish(started: dict[str, subprocess.Popen[bytes]], timeout: float) -> None:
    for process in started.values():
        try:
            process.wait(timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _parse_frame(frame: str) -> tuple[str, str]:
    """`function (package/file.py)` -> (function, file)."""
    name, _, rest = frame.rpartition(" (")
    return (name or frame), rest.rstrip(")")


# Functions whose self time is a C call below them: the socket send of the event loop's transport.
SOCKET_WRITES = frozenset(
    {
        ("StreamWriter.write", "asyncio/streams.py"),
        ("StreamWriter._writelines", "aiohttp/http_writer.py"),
        ("StreamWriter._write", "aiohttp/http_writer.py"),
        ("CoalescingTransport.flush", "adapters/amqp.py"),  # our AMQP writes go out here
    }
)


def component(file: str, function: str = "") -> str:
    if (function, file) in SOCKET_WRITES:
        return "socket writes (transport.write: send syscalls)"
    if file.startswith("<"):
        return "other"
    head = file.split("/", 1)[0].removesuffix(".py")
    if head in COMPONENTS:
        return COMPONENTS[head]
    if "/" not in file:
        return "stdlib: " + head  # py-spy shows stdlib modules by their bare file name
    return "other: " + head


def summarise(raw: Path, top: int = TOP) -> dict[str, Any]:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    components: Counter[str] = Counter()
    total = 0
    text = raw.read_text(errors="replace") if raw.exists() else ""  # absent: py-spy failed
    for line in text.splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        # The thread's name frame ("process 12:..." / "thread ...") is not code: skip it.
        frames = [f for f in frames if " (" in f]
        if not frames:
            continue
        total += count
        leaf_name, leaf_file = _parse_frame(frames[-1])
        self_time[f"{leaf_name} ({leaf_file})"] += count
        components[component(leaf_file, leaf_name)] += count
        for frame in set(frames):
            name, file = _parse_frame(frame)
            inclusive[f"{name} ({file})"] += count

    def share(counter: Counter[str]) -> list[dict[str, Any]]:
        return [
            {"frame": key, "samples": n, "percent": round(100 * n / total, 1) if total else 0.0}
            for key, n in counter.most_common(top)
        ]

    # Our own functions by inclusive time, without the entry points that hold everything.
    # (Stacks of tasks the loop resumes from C start at the task's coroutine, so an entry
    # point's share is not a fixed 100%: they are left out by name.)
    ours: Counter[str] = Counter(
        {
            frame: n
            for frame, n in inclusive.items()
            if frame.split(" (")[-1].startswith(OUR_PACKAGES)
            and not frame.split(" (")[-1].startswith(ENTRY_FILES)
        }
    )
    return {
        "samples": total,
        "rate_hz": RATE_HZ,
        "self": share(self_time),
        "inclusive": share(inclusive),
        "ours": share(ours),
        "components": share(components),
    }
