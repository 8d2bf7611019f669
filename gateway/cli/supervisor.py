"""Keeping the children of `lgsp dev` running: a child that exits is started again, with backoff.

`lgsp dev` runs the mocks, the workers, the audit writer and the gateway as
child processes. One of them exiting (a crash, a kill, an out-of-memory) is
no reason to stop the others: the supervisor starts it again after a delay
that doubles with each exit in the recent window (0.5 s, 1 s, 2 s ... up to
`max_delay`), and says so on the output. Only a child that keeps failing,
`max_restarts` exits within `window` seconds, stops the stack, with a message
naming it; a child that ran for a whole window starts again from the first
delay. Ctrl-C and SIGTERM stop everything, as before (dev.py).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Generic, Protocol, TextIO, TypeVar

FIRST_DELAY = 0.5  # seconds before the first restart of a child
MAX_DELAY = 10.0
MAX_RESTARTS = 5  # exits within WINDOW that give up on a child (and stop the stack)
WINDOW = 60.0


class Child(Protocol):
    """What the supervisor needs of a child: its name and its current process."""

    name: str
    process: subprocess.Popen[bytes] | None


C = TypeVar("C", bound=Child)


@dataclass
class _Record:
    exits: deque[float] = field(default_factory=deque)  # monotonic times of recent exits
    restart_at: float | None = None
    last_code: int | None = None


class Supervisor(Generic[C]):
    def __init__(
        self,
        children: Sequence[C],
        start: Callable[[C], None],
        *,
        first_delay: float = FIRST_DELAY,
        max_delay: float = MAX_DELAY,
        max_restarts: int = MAX_RESTARTS,
        window: float = WINDOW,
        out: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.children = list(children)
        self._start = start
        self.first_delay = first_delay
        self.max_delay = max_delay
        self.max_restarts = max_restarts
        self.window = window
        self._out = out
        self._clock = clock
        self._records = {c.name: _Record() for c in self.children}
        self.restarts = 0

    def _say(self, text: str) -> None:
        print(f"supervisor: {text}", file=self._out or sys.stderr, flush=True)

    def check(self) -> str | None:
        """Look after every child once: note exits, restart those whose delay has passed.

        Returns why the stack must stop (a child failing again and again), else None."""
        now = self._clock()
        for child in self.children:
            record = self._records[child.name]
            process = child.process
            if record.restart_at is None:
                if process is None or process.poll() is None:
                    continue
                record.last_code = process.returncode
                while record.exits and now - record.exits[0] > self.window:
                    record.exits.popleft()
                record.exits.append(now)
                failures = len(record.exits)
                if failures > self.max_restarts:
                    return (
                        f"{child.name} exited {failures} times within {self.window:.0f}s "
                        f"(last exit code {record.last_code}); giving up on it, see its "
                        "lines above"
                    )
                delay = min(self.first_delay * 2 ** (failures - 1), self.max_delay)
                record.restart_at = now + delay
                self._say(
                    f"{child.name} exited (code {record.last_code}); restarting in "
                    f"{delay:.1f}s (exit {failures} of at most {self.max_restarts} "
                    f"in {self.window:.0f}s)"
                )
            elif now >= record.restart_at:
                record.restart_at = None
                self._start(child)
                self.restarts += 1
                pid = child.process.pid if child.process else "?"
                self._say(f"{child.name} restarted (pid {pid})")
        return None
