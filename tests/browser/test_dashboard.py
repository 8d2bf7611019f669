"""The dashboard in headless Chromium shows the live state; its screenshot goes to the docs."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from gateway.security.enumeration import ENUMERATION
from tests.support.ops_stack import CLIENT_ID, PROBE_QUEUE, ops_stack
from tests.support.rabbit import Rabbit

pytestmark = [pytest.mark.browser, pytest.mark.integration]
SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "img" / "dashboard.png"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
    # Virtual time: the page's refresh loop runs and its fetches complete before the dump.
    "--virtual-time-budget=8000",
]


class Rows(HTMLParser):
    """Table rows keyed by their data-queue / data-service / data-central / data-dead-letter."""

    KEYS = ("data-queue", "data-service", "data-central", "data-dead-letter", "data-alarm")

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[str, str]] = {}
        self.body: dict[str, str] = {}
        self._row: dict[str, str] | None = None
        self._field: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "body":
            self.body = a
        if tag == "tr":
            key = next((f"{k}={a[k]}" for k in self.KEYS if k in a), None)
            self._row = None if key is None else self.rows.setdefault(key, dict(a))
        elif tag == "td" and self._row is not None:
            self._field = a.get("data-field")
            if self._field:
                self._row[self._field] = ""

    def handle_data(self, data: str) -> None:
        if self._row is not None and self._field:
            self._row[self._field] += data.strip()

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._field = None
        elif tag == "tr":
            self._row = None


async def chromium(url: str, profile: Path, *extra: str) -> str:
    binary = shutil.which("chromium")
    assert binary, "Chromium is missing: scripts/system-deps.sh browser installs it"
    process = await asyncio.create_subprocess_exec(
        binary,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        *extra,
        url,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(90):
            out, _ = await process.communicate()
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    assert process.returncode == 0
    return out.decode()


def row(rows: dict[str, dict[str, str]], key: str) -> dict[str, str]:
    assert key in rows, f"{key} not on the page; rows: {sorted(rows)}"
    return rows[key]


async def test_dashboard_shows_the_live_queue_service_and_dead_letter_state(
    rabbit: Rabbit, tmp_path: Path
) -> None:
    async with ops_stack(rabbit, tmp_path) as stack:
        for i in range(3):
            assert (await stack.echo(f"fine-{i}")).status == 200
        assert (await stack.echo("missing-1", "missing")).status == 404
        assert (await stack.echo("crash-1", "crash")).status == 502
        report: dict[str, Any] = await stack.queue_report(
            lambda r: next(q for q in r["queues"] if q["role"] == "dead-letter")["ready"] == 1
        )
        assert report["verdict"] == "warning"
        # An enumeration alarm, raised by the gateway's own watch (norm 1, two people).
        watch = stack.app[ENUMERATION].watch
        for subject in ("a", "b"):
            watch.seen(CLIENT_ID, subject, 1, time.monotonic())
        url = str(stack.client.make_url("/ops").with_query(token=stack.ops_token))

        dom = await chromium(url, tmp_path / "profile-dom", "--dump-dom")
        page = Rows()
        page.feed(dom)
        assert page.body.get("data-loaded") == "1", dom[:2000]
        probe = row(page.rows, f"data-queue={PROBE_QUEUE}")
        assert (probe["data-verdict"], probe["consumers"], probe["ready"]) == ("ok", "1", "0")
        dead = row(page.rows, "data-queue=lgsp.dead-letter")
        assert (dead["data-verdict"], dead["ready"]) == ("warning", "1")
        assert dead["reasons"] == "1 dead letters present"
        echo = row(page.rows, "data-service=probe/echo")
        assert (echo["successes"], echo["failures"], echo["rejected"]) == ("3", "1", "1")
        assert echo["error_rate"] == "25.0 %"
        assert echo["last_failure"].endswith("UTC")
        # The probe's workers answered every call themselves: no breaker refused one.
        central = row(page.rows, "data-central=probe")
        assert (central["data-state"], central["state"], central["refusals"]) == (
            "closed",
            "closed",
            "0",
        )
        (letter,) = [v for k, v in page.rows.items() if k.startswith("data-dead-letter=")]
        assert (letter["reason"], letter["by"], letter["origin"]) == (
            "adapter-error",
            "worker",
            PROBE_QUEUE,
        )
        alarm = row(page.rows, f"data-alarm={CLIENT_ID}")
        assert (alarm["verdict"], alarm["distinct"], alarm["norm"]) == ("warning", "2", "1")
        assert "crash-1" not in dom  # message bodies never reach the page

        shot = tmp_path / "dashboard.png"
        await chromium(
            url, tmp_path / "profile-shot", f"--screenshot={shot}", "--window-size=1280,900"
        )
        assert shot.read_bytes().startswith(b"\x89PNG")
        if os.environ.get("LGSP_UPDATE_SCREENSHOTS"):  # the docs' picture, refreshed on request
            SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(shot, SCREENSHOT)
