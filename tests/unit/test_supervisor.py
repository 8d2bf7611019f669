"""The `lgsp dev` supervisor with real child processes: restarts with backoff, said on the
output, and a child that keeps failing stops the stack with a message naming it."""

from __future__ import annotations

import io
import subprocess
import sys
import time
from dataclasses import dataclass

from gateway.cli.supervisor import Supervisor


@dataclass
class Child:
    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None


def start(child: Child) -> None:
    child.process = subprocess.Popen(child.argv, stdin=subprocess.DEVNULL)


def run_until(supervisor: Supervisor[Child], done: object, within: float = 10.0) -> str | None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        reason = supervisor.check()
        if reason is not None or (callable(done) and done()):
            return reason
        time.sleep(0.01)
    raise AssertionError("the supervisor did not get there in time")


def test_a_child_that_exits_is_restarted_and_the_output_says_so() -> None:
    sleeper = Child("worker:demo", [sys.executable, "-c", "import time; time.sleep(30)"])
    start(sleeper)
    out = io.StringIO()
    supervisor = Supervisor([sleeper], start, first_delay=0.05, out=out)
    first = sleeper.process
    assert first is not None
    first.kill()
    first.wait()
    reason = run_until(supervisor, lambda: supervisor.restarts == 1)
    assert reason is None
    assert sleeper.process is not first
    assert sleeper.process is not None
    assert sleeper.process.poll() is None  # running again
    text = out.getvalue()
    assert "worker:demo exited (code -9); restarting in 0.1s" in text
    assert f"worker:demo restarted (pid {sleeper.process.pid})" in text
    sleeper.process.kill()
    sleeper.process.wait()


def test_a_child_failing_again_and_again_stops_the_stack_with_a_clear_reason() -> None:
    failing = Child("audit-writer", [sys.executable, "-c", "raise SystemExit(3)"])
    start(failing)
    out = io.StringIO()
    supervisor = Supervisor([failing], start, first_delay=0.01, max_delay=0.02, out=out)
    started = time.monotonic()
    reason = run_until(supervisor, None)
    assert reason is not None
    assert reason.startswith("audit-writer exited 6 times within 60s (last exit code 3)")
    assert supervisor.restarts == 5
    # Backoff doubles from the first delay up to the cap.
    assert "restarting in 0.0s" in out.getvalue()
    assert time.monotonic() - started < 10
