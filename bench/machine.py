"""The machine and the software a benchmark ran on: figures mean nothing without them."""

from __future__ import annotations

import glob
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from gateway.broker import SERVER_GLOB

PACKAGES = ("aiohttp", "aio-pika", "aiormq", "pydantic", "orjson", "uvloop", "structlog")


def _first(path: str, prefix: str) -> str:
    try:
        for line in Path(path).read_text().splitlines():
            if line.startswith(prefix):
                return line.split(":", 1)[1].strip() if ":" in line else line.split("=", 1)[1]
    except OSError:
        pass
    return "unknown"


def _rabbitmq_version() -> str:
    found = sorted(glob.glob(SERVER_GLOB))
    return found[-1].split("rabbitmq_server-")[1].split("/")[0] if found else "unknown"


def _command(argv: list[str], cwd: Path | None = None) -> str:
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, timeout=10, cwd=cwd, check=False
        )
    except OSError:
        return "unknown"
    if done.returncode != 0:
        return ""
    # The first line of what it said; nothing at all (a clean `git status`) is "".
    return next(iter((done.stdout or done.stderr).strip().splitlines()), "")


def describe(root: Path) -> dict[str, Any]:
    memory_kib = _first("/proc/meminfo", "MemTotal").split()[0]
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    commit = _command(["git", "rev-parse", "--short", "HEAD"], root)
    dirty = bool(_command(["git", "status", "--porcelain"], root))
    return {
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu_model": _first("/proc/cpuinfo", "model name"),
        "cores": os.cpu_count(),
        "memory_gib": round(int(memory_kib) / 1024 / 1024, 1) if memory_kib.isdigit() else None,
        "kernel": platform.release(),
        "os": _first("/etc/os-release", "PRETTY_NAME").strip('"'),
        "python": platform.python_version(),
        "rabbitmq": _rabbitmq_version(),
        "wrk": _wrk_version(),
        "packages": versions,
        "commit": commit + ("+uncommitted changes" if dirty else ""),
    }


def _wrk_version() -> str:
    # `wrk -v` prints its version, then its usage, and exits 1.
    try:
        done = subprocess.run(
            ["wrk", "-v"], capture_output=True, text=True, timeout=10, check=False
        )
    except OSError:
        return "not installed"
    lines = (done.stdout + done.stderr).strip().splitlines()
    return lines[0].split(" [")[0] if lines else "unknown"
