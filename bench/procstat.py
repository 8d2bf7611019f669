"""What a process costs, read from /proc: CPU seconds (utime + stime) and peak resident memory.

CPU is sampled before and after a run and the difference divided by the
requests served. The peak (VmHWM) is reset before each run by writing `5` to
`/proc/<pid>/clear_refs` (Linux ≥ 4.0, our own processes), so each run reports
its own peak rather than the process's lifetime peak.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass
from pathlib import Path

PROC = Path("/proc")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time the process has used so far (its threads included)."""
    raw = (PROC / str(pid) / "stat").read_text()
    # The command name (field 2) may contain spaces and parentheses: split after its last ')'.
    fields = raw[raw.rindex(")") + 2 :].split()
    utime, stime = int(fields[11]), int(fields[12])  # fields 14 and 15 of proc(5)
    return (utime + stime) / CLOCK_TICKS


def _status_kib(pid: int, key: str) -> int:
    for line in (PROC / str(pid) / "status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def peak_rss_bytes(pid: int) -> int:
    """The resident-set high-water mark since start or the last `reset_peak`."""
    return _status_kib(pid, "VmHWM") * 1024


def rss_bytes(pid: int) -> int:
    return _status_kib(pid, "VmRSS") * 1024


def reset_peak(pid: int) -> bool:
    """Reset VmHWM to the current RSS; False where the kernel does not allow it."""
    try:
        (PROC / str(pid) / "clear_refs").write_text("5")
    except OSError:
        return False
    return True


def parent_of(pid: int) -> int:
    raw = (PROC / str(pid) / "stat").read_text()
    return int(raw[raw.rindex(")") + 2 :].split()[1])


def command_name(pid: int) -> str:
    return (PROC / str(pid) / "comm").read_text().strip()


def descendants(pid: int) -> list[int]:
    """Every living process below `pid` in the process tree."""
    children: dict[int, list[int]] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError):
            children.setdefault(parent_of(int(entry.name)), []).append(int(entry.name))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def find_descendant(pid: int, name: str) -> int | None:
    """The first process below `pid` whose command name is `name` (e.g. `beam.smp`)."""
    for child in descendants(pid):
        with contextlib.suppress(OSError):
            if command_name(child) == name:
                return child
    return None


def machine_busy_seconds() -> float:
    """CPU seconds all cores have spent busy since boot (everything but idle and iowait)."""
    fields = [int(f) for f in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0)
    # guest time is already counted in user/nice: the first eight fields are the total.
    return (sum(fields[:8]) - idle) / CLOCK_TICKS


@dataclass(frozen=True, slots=True)
class Usage:
    """What one process used during one run."""

    cpu_seconds: float
    peak_rss_bytes: int


class Meter:
    """CPU and peak memory of named processes over one run: `start()`, load, `stop()`."""

    def __init__(self, pids: dict[str, int]) -> None:
        self.pids = dict(pids)
        self._cpu: dict[str, float] = {}
        self._machine = 0.0
        self.machine_seconds = 0.0  # busy CPU seconds of the whole machine during the run

    def start(self) -> None:
        for name, pid in self.pids.items():
            reset_peak(pid)
            self._cpu[name] = cpu_seconds(pid)
        self._machine = machine_busy_seconds()

    def stop(self) -> dict[str, Usage]:
        self.machine_seconds = machine_busy_seconds() - self._machine
        return {
            name: Usage(
                cpu_seconds=cpu_seconds(pid) - self._cpu[name],
                # The kernel updates the mark lazily: the current size may be past it.
                peak_rss_bytes=max(peak_rss_bytes(pid), rss_bytes(pid)),
            )
            for name, pid in self.pids.items()
        }
