"""`lgsp dev` (what `make run` runs): the whole stack from a fresh config, the banner's curl
works, the dashboard answers at the printed URL, and Ctrl-C stops everything it started."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import tomllib
import urllib.request
from pathlib import Path
from typing import IO, Any

from gateway.broker import port_open
from gateway.config_file import to_toml
from tests.support.waiting import free_port

READY = "LGSP Gateway is ready at"
DONE = "Ctrl-C stops everything."
DASHBOARD = "Operator dashboard:"  # printed after the banner: once seen, all of it is in


def metrics_base(taken: set[int], workers: int) -> int:
    """A first metrics port such that worker i's (base + i) is free and none of `taken`."""
    while True:
        span = range(base := free_port(), base + workers)
        if not taken & set(span) and not any(port_open(port) for port in span):
            return base


def fresh_config(root: Path) -> dict[str, int]:
    """`lgsp init` in `root`, then every port moved to a free one (tests run beside a dev stack)."""
    env = {**os.environ, "LGSP_CONFIG": str(root / "var/lgsp.toml")}
    subprocess.run(
        [sys.executable, "-m", "gateway.cli", "init"], cwd=root, env=env, check=True,
        capture_output=True,
    )  # fmt: skip
    path = root / "var/lgsp.toml"
    config: dict[str, Any] = tomllib.loads(path.read_text())
    ports = {name: free_port() for name in ("amqp", "management", "dist", "epmd", "gateway")}
    ports |= {name: free_port() for name in config["adapters"]}
    ports["metrics"] = metrics_base(set(ports.values()), len(config["adapters"]))
    broker = config["broker"]
    broker.update(
        amqp_port=ports["amqp"], management_port=ports["management"], dist_port=ports["dist"],
        epmd_port=ports["epmd"],
    )  # fmt: skip
    config["bus"]["url"] = f"amqp://lgsp:{broker['password']}@127.0.0.1:{ports['amqp']}/"
    config.setdefault("gateway", {})["port"] = ports["gateway"]
    config.setdefault("worker", {})["metrics_port"] = ports["metrics"]
    for system in config["adapters"]:  # every installed adapter, built-in or not
        config["adapters"][system]["base_url"] = f"http://127.0.0.1:{ports[system]}"
    # A small data set: the default one takes a while to generate the first time.
    config["mocks"].update(citizens="2000", enterprises="400", insured="1500")
    path.write_text(to_toml(config))
    return ports


def read_until(stream: IO[str], marker: str, into: list[str], timeout: float) -> bool:
    found = threading.Event()

    def pump() -> None:
        for line in stream:
            into.append(line)
            if marker in line:
                found.set()
        found.set()

    threading.Thread(target=pump, daemon=True).start()
    return found.wait(timeout) and any(marker in line for line in into)


def test_dev_stack_serves_the_printed_curl_and_stops_everything(tmp_path: Path) -> None:
    ports = fresh_config(tmp_path)
    env = {**os.environ, "LGSP_CONFIG": str(tmp_path / "var/lgsp.toml")}
    process = subprocess.Popen(
        [sys.executable, "-m", "gateway.cli", "dev"], cwd=tmp_path, env=env, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    output: list[str] = []
    try:
        assert process.stdout is not None
        assert read_until(process.stdout, DASHBOARD, output, timeout=240), "".join(output[-40:])
        text = "".join(output)
        banner = text[text.index(READY) : text.index(DONE)]
        # The token line and the citizen-verify curl, exactly as printed.
        token = next(line for line in banner.splitlines() if line.startswith("TOKEN="))
        block = banner[banner.index("# population/citizen-verify") :].split("\n\n")[0]
        result = subprocess.run(
            ["bash", "-c", f"set -e\n{token}\n{block}"], capture_output=True, text=True,
            check=True, timeout=30,
        )  # fmt: skip
        answer = json.loads(result.stdout)
        assert answer["matched"] is True
        assert answer["citizen"]["personal_id"]

        dashboard = re.search(r"Operator dashboard: (\S+)", text)
        assert dashboard is not None
        # The URL signs in once and sets a cookie, then redirects to the page itself.
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor())
        with browser.open(dashboard.group(1), timeout=10) as page:
            assert page.status == 200
            assert b"<html" in page.read().lower()
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(60)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0
    for name in ("gateway", "amqp", "management", "population", "business", "insurance"):
        assert not port_open(ports[name]), f"{name} still listening after Ctrl-C"


def test_dev_refuses_a_gateway_port_another_process_holds(tmp_path: Path) -> None:
    """Otherwise our gateway would die on "address already in use" while the other answers
    /readyz, and the stack would look ready."""
    ports = fresh_config(tmp_path)
    env = {**os.environ, "LGSP_CONFIG": str(tmp_path / "var/lgsp.toml")}
    with socket.socket() as held:
        held.bind(("127.0.0.1", ports["gateway"]))
        held.listen()
        result = subprocess.run(
            [sys.executable, "-m", "gateway.cli", "dev"], cwd=tmp_path, env=env, text=True,
            capture_output=True, timeout=60, check=False,
        )  # fmt: skip
    assert result.returncode == 2
    assert f"gateway ({ports['gateway']})" in result.stderr
    assert "LGSP_PORT_OFFSET" in result.stderr
    assert not port_open(ports["amqp"]), "it started a broker before refusing"
