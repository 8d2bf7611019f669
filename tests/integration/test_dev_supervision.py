"""`lgsp dev` keeps serving when one of its children dies: each is restarted, the output says so,
and the stack answers again within seconds; Ctrl-C still stops everything."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from gateway.broker import port_open
from tests.integration.test_dev import DASHBOARD, DONE, READY, fresh_config, read_until

# (child name in the output, what its command line holds after `-m gateway.cli`)
VICTIMS = [
    ("audit-writer", ["audit-writer"]),
    ("worker:population", ["worker", "population"]),
    ("mock:population", ["mock", "population"]),
    ("gateway", ["gateway"]),
]
BACK_WITHIN = 20.0  # seconds: "within seconds", with room for a slow 2-core machine


def child_pid(parent: int, args: list[str]) -> int:
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            argv = (entry / "cmdline").read_bytes().decode().split("\0")[:-1]
        except (OSError, IndexError, ValueError):
            continue
        if ppid == parent and "gateway.cli" in argv:
            rest = argv[argv.index("gateway.cli") + 1 :]
            if rest[: len(args)] == args:
                return int(entry.name)
    raise AssertionError(f"no child {args} of {parent}")


def test_killing_any_child_of_lgsp_dev_leaves_the_stack_serving_within_seconds(
    tmp_path: Path,
) -> None:
    ports = fresh_config(tmp_path)
    env = {**os.environ, "LGSP_CONFIG": str(tmp_path / "var/lgsp.toml")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "dev"], cwd=tmp_path, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output: list[str] = []
    recovered: dict[str, float] = {}
    try:
        assert process.stdout is not None
        assert read_until(process.stdout, DASHBOARD, output, timeout=240), "".join(output[-40:])
        text = "".join(output)
        banner = text[text.index(READY) : text.index(DONE)]
        token = next(line for line in banner.splitlines() if line.startswith("TOKEN="))
        block = banner[banner.index("# population/citizen-verify") :].split("\n\n")[0]
        script = f"{token}\n{block}"

        def serving() -> bool:
            result = subprocess.run(
                ["bash", "-c", script], capture_output=True, text=True, timeout=30, check=False
            )
            try:
                return bool(json.loads(result.stdout).get("matched"))
            except ValueError:
                return False

        assert serving()
        for name, args in VICTIMS:
            pid = child_pid(process.pid, args)
            killed = time.monotonic()
            os.kill(pid, signal.SIGKILL)
            while not serving():
                assert time.monotonic() - killed < BACK_WITHIN, f"not serving after {name} died"
                time.sleep(0.2)
            # Serving again; and the child itself is back (the audit writer is not on the path).
            while f"supervisor: {name} restarted" not in "".join(output):
                assert time.monotonic() - killed < BACK_WITHIN, f"{name} was not restarted"
                time.sleep(0.1)
            recovered[name] = round(time.monotonic() - killed, 2)
            assert child_pid(process.pid, args) != pid
        print("serving again after a SIGKILL of (seconds):", recovered)
        log = "".join(output)
        assert "supervisor: audit-writer exited (code -9); restarting in" in log
        assert "stopping:" not in log
        assert process.poll() is None
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(60)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0
    for name in ("gateway", "amqp", "population"):
        assert not port_open(ports[name]), f"{name} still listening after Ctrl-C"
