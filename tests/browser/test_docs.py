"""`/docs` renders the OpenAPI document in headless Chromium with the network cut.

Chromium is pointed at a proxy of our own that answers nothing and records
every request it is sent, and host names other than the loopback do not
resolve: a page that needed a CDN (a script, a font, the public validator's
badge) would either break or show up in the proxy's record.
"""

from __future__ import annotations

import asyncio
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from mocks.settings import MockSettings
from tests.browser.test_dashboard import chromium
from tests.support.rabbit import Rabbit
from tests.support.stack import running_stack

pytestmark = [pytest.mark.browser, pytest.mark.integration]


BROWSER_OWN_TRAFFIC_OFF = (
    "--disable-features=NetworkTimeServiceQuerying,AccountConsistency,OptimizationHints,"
    "MediaRouter,DialMediaRouteProvider,Translate,AutofillServerCommunication",
    "--disable-client-side-phishing-detection",
    "--disable-default-apps",
    "--disable-domain-reliability",
    "--disable-component-extensions-with-background-pages",
    "--no-pings",
    "--no-service-autorun",
    "--allow-pre-commit-input",
)


# Chromium's own services, which it calls whatever page it shows (clock, sign-in, updates).
BROWSER_OWN_HOSTS = frozenset(
    {"accounts.google.com", "clients2.google.com", "update.googleapis.com"}
)


def host_of(request_line: str) -> str:
    """`CONNECT host:443 HTTP/1.1` or `GET http://host/path HTTP/1.1` -> host."""
    target = request_line.split(" ")[1] if " " in request_line else request_line
    return urllib.parse.urlsplit(target if "//" in target else f"//{target}").hostname or ""


class Operations(HTMLParser):
    """The operations Swagger UI lists: `METHOD /path` of each rendered operation summary."""

    def __init__(self) -> None:
        super().__init__()
        self.listed: set[str] = set()
        self._method = ""
        self._in_method = False

    def handle_starttag(self, _tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = a.get("class", "").split()
        if "opblock-summary-method" in classes:
            self._in_method, self._method = True, ""
        elif "opblock-summary-path" in classes and "data-path" in a:
            self.listed.add(f"{self._method.upper()} {a['data-path']}")

    def handle_data(self, data: str) -> None:
        if self._in_method:
            self._method += data.strip()

    def handle_endtag(self, _tag: str) -> None:
        self._in_method = False


class DeadProxy:
    """An HTTP proxy that forwards nothing and writes down what it was asked for."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.server: asyncio.Server | None = None

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        line = await reader.readline()
        self.asked.append(line.decode(errors="replace").strip())
        writer.close()

    async def __aenter__(self) -> int:
        self.server = await asyncio.start_server(self.handle, "127.0.0.1", 0)
        port: int = self.server.sockets[0].getsockname()[1]
        return port

    async def __aexit__(self, *_exc: object) -> None:
        assert self.server is not None
        self.server.close()
        await self.server.wait_closed()


async def test_docs_page_lists_every_operation_offline(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any], tmp_path: Path
) -> None:
    proxy = DeadProxy()
    async with (
        running_stack(rabbit, mock_settings, generated, workers=False) as stack,
        proxy as port,
    ):
        document = await (await stack.client.get("/openapi.json")).json()
        url = str(stack.client.make_url("/docs"))
        served = await stack.client.get("/docs")
        # The browser itself refuses any asset from elsewhere.
        assert served.headers["Content-Security-Policy"].startswith("default-src 'self';")
        dom = await chromium(
            url,
            tmp_path / "profile",
            "--dump-dom",
            f"--proxy-server=http://127.0.0.1:{port}",
            "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
            # The browser's own calls home (clock, sign-in), so that the record is the page's.
            *BROWSER_OWN_TRAFFIC_OFF,
        )
    expected = {f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item}
    page = Operations()
    page.feed(dom)
    assert page.listed == expected, dom[:3000]
    # Not one request of the page's left the machine (Chromium's own calls home aside).
    page_asked = [line for line in proxy.asked if host_of(line) not in BROWSER_OWN_HOSTS]
    assert page_asked == [], proxy.asked
    assert "swagger-ui" in dom
