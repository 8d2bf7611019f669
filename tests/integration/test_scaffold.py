"""Proof from outside: an adapter package made by `lgsp new adapter`, installed beside the
project without an edit to it, passes its own tests and is served end to end by `lgsp dev`.

The test follows docs/adapters.md's tutorial command by command, in a temporary
directory and a temporary virtual environment layered over the project's (its
site-packages are added by a `.pth` file, so the new package is installed in
the temporary environment only and disappears with it). It checks what the
issue asks of a foreign adapter: listed in `/v1/services`, access rights and
field groups, the purpose trail, the audit record, dead-lettering; and that the
project's own tests pass with the package installed. The stack it runs is moved
by one setting, `LGSP_PORT_OFFSET`, beside any other stack on the machine.
"""

from __future__ import annotations

import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import sysconfig
import time
import tomllib
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import aio_pika
import pytest

from adapters.registry import Registry
from gateway.broker import port_open
from schemas.envelope import Header
from tests.integration.test_dev import DASHBOARD, read_until

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
# A name no installed package has (this test also runs where another scaffolded one is).
NAME = f"land-registry-{secrets.token_hex(3)}"
OPERATION = f"/v1/{NAME}/person-lookup"
PURPOSE = {
    "LGSP-Officer-Id": "CB-HP-0042",
    "LGSP-Procedure-Code": "1.001612",
    "LGSP-Case-Id": "HS-2026-000123",
}
# Every port `lgsp dev` opens, before the offset (scaffolded mocks: 8710, 8711; workers 9410+).
BASE_PORTS = [5682, 15682, 25682, 4382, 8080, *range(8701, 8705), 8710, 8711, *range(9410, 9417)]
SMALL_DATA = {
    "LGSP_MOCK_CITIZENS": "2000",
    "LGSP_MOCK_ENTERPRISES": "400",
    "LGSP_MOCK_INSURED": "1500",
}


def free_offset() -> int:
    """An offset that puts every port of the stack on a free one."""
    rng = random.Random()
    while True:
        offset = rng.randrange(1000, 30000)
        if not any(port_open(port + offset) for port in BASE_PORTS):
            return offset


class Outside:
    """A directory and a virtual environment outside the project, and commands run in them."""

    def __init__(self, root: Path, offset: int) -> None:
        self.root = root
        self.python = root / "venv/bin/python"
        self.config = root / "var/lgsp.toml"
        self.env = {
            **os.environ,
            **SMALL_DATA,
            "LGSP_CONFIG": str(self.config),
            "LGSP_PORT_OFFSET": str(offset),
            "LGSP_LOG_FORMAT": "json",
        }
        self.gateway = f"http://127.0.0.1:{8080 + offset}"

    def make_venv(self) -> None:
        """A venv that sees the project's packages (and its pip) through a `.pth` file."""
        subprocess.run(
            [sys.executable, "-m", "venv", "--without-pip", str(self.root / "venv")],
            check=True,
            timeout=60,
        )
        site = subprocess.run(
            [str(self.python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
        parent = sysconfig.get_path("purelib")
        Path(site, "_lgsp_project.pth").write_text(f"import site; site.addsitedir({parent!r})\n")

    def run(
        self,
        *args: str,
        python: Path | None = None,
        cwd: Path | None = None,
        timeout: float = 120,
        env: dict[str, str] | None = None,
    ) -> str:
        result = subprocess.run(
            [str(python or self.python), *args],
            cwd=cwd or self.root,
            env=env or self.env,
            text=True,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        assert result.returncode == 0, f"{args}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
        return result.stdout

    def lgsp(self, *args: str, python: Path | None = None) -> str:
        return self.run("-m", "gateway.cli", *args, python=python)


def passed_cleanly(output: str) -> bool:
    """pytest's summary says tests passed and none failed or errored."""
    return bool(re.search(r"\b\d+ passed\b", output)) and not re.search(
        r"\b\d+ (failed|errors?)\b", output
    )


def http(
    method: str,
    url: str,
    body: Any = None,
    headers: dict[str, str] | None = None,
    form: bytes | None = None,
) -> tuple[int, Any]:
    data = form if form is not None else (json.dumps(body).encode() if body is not None else None)
    sent = {"Content-Type": "application/json"} if body is not None else {}
    request = urllib.request.Request(  # noqa: S310 (our own stack, http://127.0.0.1)
        url, data=data, method=method, headers=sent | (headers or {})
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:  # noqa: S310 (as above)
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def token(base: str, client_id: str, secret: str) -> str:
    form = f"grant_type=client_credentials&client_id={client_id}&client_secret={secret}"
    status, answer = http(
        "POST",
        f"{base}/token",
        form=form.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert status == 200, answer
    return str(answer["access_token"])


def eventually(probe: Any, within: float = 30) -> Any:
    deadline = time.monotonic() + within
    while True:
        found = probe()
        if found or time.monotonic() > deadline:
            return found
        time.sleep(0.3)  # polling another process's store: no event to await across processes


@contextmanager
def dev_stack(outside: Outside) -> Iterator[list[str]]:
    process = subprocess.Popen(
        [str(outside.python), "-m", "gateway.cli", "dev"],
        cwd=outside.root,
        env=outside.env,
        text=True,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
    )
    output: list[str] = []
    try:
        assert process.stdout is not None
        assert read_until(process.stdout, DASHBOARD, output, timeout=240), "".join(output[-60:])
        yield output
    finally:
        process.send_signal(signal.SIGINT)
        code = process.wait(60)
        if process.stdout is not None:
            process.stdout.close()
    assert code == 0, "".join(output[-40:])


async def dead_letter_a_poison_message(outside: Outside) -> None:
    """A request the worker cannot decode, straight onto the adapter's queue."""
    config = tomllib.loads(outside.config.read_text())
    port = 5682 + int(outside.env["LGSP_PORT_OFFSET"])
    url = f"amqp://lgsp:{config['broker']['password']}@127.0.0.1:{port}/"
    connection = await aio_pika.connect(url)
    async with connection:
        channel = await connection.channel()
        exchange = await channel.get_exchange("lgsp.requests")
        deadline = int((time.time() + 30) * 1000)
        message = aio_pika.Message(
            b"{not json",
            type=f"{NAME}/person-lookup",
            message_id="poison-0001",
            headers={Header.DEADLINE: deadline},
        )
        await exchange.publish(message, routing_key=NAME)


async def test_a_scaffolded_package_installed_from_outside_is_served_end_to_end(
    tmp_path: Path,
) -> None:
    outside = Outside(tmp_path, free_offset())
    project_python = Path(sys.executable)
    # docs/adapters.md, step 1: the project is set up; its configuration exists.
    outside.lgsp("init", python=project_python)
    # Step 2: scaffold the package; step 3: install it beside the gateway.
    # (--port: its mock's port; 8711 rather than the default, in case a scaffolded package
    # with the default is installed where this runs.)
    outside.lgsp(
        "new", "adapter", NAME, "--dir", str(tmp_path), "--port", "8711", python=project_python
    )
    package = tmp_path / f"lgsp-{NAME}"
    outside.make_venv()
    outside.run("-m", "pip", "install", "-q", "-e", str(package), timeout=300)
    # Step 4: its own tests pass at once (contract, client on MockCentral, the plugin's stack).
    tests = outside.run("-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package, timeout=300)
    assert passed_cleanly(tests), tests
    # Step 5: `lgsp init` adds its configuration to the existing file, keeping the rest.
    before = tomllib.loads(outside.config.read_text())
    assert NAME not in before["adapters"]
    assert f"added [adapters.{NAME}]" in outside.lgsp("init")
    after = tomllib.loads(outside.config.read_text())
    assert after["adapters"][NAME]["credentials"]["api_key"]
    assert after["broker"] == before["broker"]
    assert after["auth"] == before["auth"]
    # A client with no right to it, for the 403 below.
    added = outside.lgsp("clients", "add", "narrow", "--allow", "population/*")
    narrow_secret = re.search(r"client_secret: (\S+)", added)
    assert narrow_secret is not None

    # Step 6: `lgsp dev` serves it, moved beside any other stack by LGSP_PORT_OFFSET.
    with dev_stack(outside) as output:
        banner = "".join(output)
        assert f"# {NAME}/person-lookup" in banner  # its declared example, in the banner
        demo = json.loads((tmp_path / "var/demo-client.json").read_text())
        base = outside.gateway
        bearer = {"Authorization": f"Bearer {token(base, 'demo', demo['client_secret'])}"}

        status, listed = http("GET", f"{base}/v1/services", headers=bearer)
        assert status == 200
        paths = {s["path"]: s for s in listed["services"]}
        assert OPERATION in paths
        assert paths[OPERATION]["field_groups"] == {"granted": [], "withheld": ["family"]}
        # Hook: when the gateway serves GET /openapi.json, assert OPERATION is in its paths too.

        example = {"personal_id": "031301874276"}
        status, answer = http("POST", base + OPERATION, example, bearer | PURPOSE)
        assert status == 200, answer
        assert answer["person"]["full_name"] == "Nguyễn Thùy Hiền"
        assert "father_name" not in answer["person"]  # the family group is withheld from demo

        status, problem = http("POST", base + OPERATION, example, bearer)  # no purpose trail
        assert status == 422, problem
        narrow = {"Authorization": f"Bearer {token(base, 'narrow', narrow_secret.group(1))}"}
        status, problem = http("POST", base + OPERATION, example, narrow | PURPOSE)
        assert status == 403, problem

        def audited() -> list[dict[str, Any]]:
            out = outside.lgsp("audit", "search", "--operation", f"{NAME}/person-lookup")
            return [json.loads(line) for line in out.splitlines() if line.strip()]

        records = eventually(lambda: len(audited()) >= 3 and audited())
        assert records, "no audit records for the foreign operation"
        ok = next(r for r in records if r["status"] == 200)
        assert (ok["client_id"], ok["officer_id"], ok["case_id"]) == (
            "demo",
            PURPOSE["LGSP-Officer-Id"],
            PURPOSE["LGSP-Case-Id"],
        )
        assert sorted(r["status"] for r in records) == [200, 403, 422]

        await dead_letter_a_poison_message(outside)

        def dead_letters() -> list[dict[str, Any]]:
            found = json.loads(outside.lgsp("dlq", "list", "--json"))["messages"]
            return [m for m in found if m["origin_queue"] == f"lgsp.requests.{NAME}"]

        (letter,) = eventually(dead_letters)
        assert letter["reason"] == "undecodable"

    # The project's own tests pass with the package installed: its stack ignores the package.
    unmoved = {k: v for k, v in outside.env.items() if k != "LGSP_PORT_OFFSET"}
    own = outside.run(
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/unit/test_adapter_contract.py",
        "tests/integration/test_adapters_civil_status.py",
        cwd=ROOT,
        timeout=300,
        env=unmoved,
    )
    assert passed_cleanly(own), own
    # And nothing of it reached the project's environment.
    assert NAME not in Registry.discover().names
