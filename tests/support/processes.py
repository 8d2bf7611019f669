"""Running parts of the stack as real processes, for tests that kill or signal them."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from gateway.config_file import to_toml


def write_config(path: Path, values: dict[str, Any]) -> Path:
    path.write_text(to_toml(values))
    return path


@contextmanager
def lgsp_process(config: Path, *args: str, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """`lgsp ARGS` with the given config, output in `log`; stopped after (killed if need be)."""
    env = {**os.environ, "LGSP_CONFIG": str(config), "LGSP_LOG_FORMAT": "json"}
    with log.open("ab") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "gateway.cli", *args],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
