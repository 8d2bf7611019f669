"""Helpers the mock tests share: a running server and ways to call each system."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

import aiohttp
from defusedxml.ElementTree import fromstring

from mocks import xroad
from mocks.server import start
from mocks.settings import MockSettings
from mocks.soap import NS, SOAP_ENV

LOOKUP = "/csdldc/v1/TraCuuThongTinCongDan"
DECLARE = "/csdldc/v1/KhaiBaoTamTru"
DETAIL = "/apiCSDLDKDN/1.0/chiTietDoanhNghiep"


@dataclass
class MockServer:
    """A mock serving on 127.0.0.1 in the test's event loop."""

    url: str
    settings: MockSettings
    http: aiohttp.ClientSession

    async def stats(self) -> dict[str, Any]:
        async with self.http.get(f"{self.url}/_admin/stats") as response:
            assert response.status == 200
            result: dict[str, Any] = await response.json()
            return result

    async def calls(self, operation: str) -> int:
        operations = (await self.stats())["operations"]
        return int(operations.get(operation, {}).get("calls", 0))

    async def set_faults(self, config: dict[str, Any]) -> None:
        async with self.http.put(f"{self.url}/_admin/faults", json=config) as response:
            assert response.status == 200, await response.text()

    # -- population -----------------------------------------------------------

    def signed(self, path: str, **changes: str) -> dict[str, str]:
        s = self.settings
        headers = xroad.headers(
            path,
            s.population_client,
            s.population_user,
            s.population_api_key.get_secret_value(),
            s.population_secret.get_secret_value(),
        )
        headers["Content-Type"] = "text/xml; charset=utf-8"
        return headers | changes

    async def soap(
        self, path: str, body: bytes, headers: dict[str, str] | None = None
    ) -> tuple[int, Element, aiohttp.ClientResponse]:
        """POST a SOAP request (signed unless ``headers`` are given); the
        status, the element inside soap:Body and the response."""
        sent = headers if headers is not None else self.signed(path)
        async with self.http.post(self.url + path, data=body, headers=sent) as response:
            raw = await response.read()
        return response.status, soap_body(raw), response

    # -- business ---------------------------------------------------------------

    async def token(self) -> str:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.business_client_id,
            "client_secret": self.settings.business_client_secret.get_secret_value(),
        }
        async with self.http.post(f"{self.url}/token", data=form) as response:
            assert response.status == 200, await response.text()
            token: str = (await response.json())["access_token"]
            return token

    async def enterprise(self, msdn: str, token: str) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {token}"}
        async with self.http.get(
            self.url + DETAIL, params={"msdn": msdn}, headers=headers
        ) as response:
            body: dict[str, Any] = await response.json()
            return response.status, body

    # -- insurance --------------------------------------------------------------

    async def insurance(
        self, operation: str, body: Any, api_key: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        key = api_key if api_key is not None else self.settings.insurance_api_key
        headers = {"X-API-KEY": key if isinstance(key, str) else key.get_secret_value()}
        async with self.http.post(
            f"{self.url}/apiBHXH/{operation}", json=body, headers=headers
        ) as response:
            answer: dict[str, Any] = await response.json()
            return response.status, answer


@contextlib.asynccontextmanager
async def running(
    system: str, settings: MockSettings, dataset: Path, http: aiohttp.ClientSession
) -> AsyncIterator[MockServer]:
    runner, port = await start(system, settings, dataset=dataset)
    try:
        yield MockServer(f"http://127.0.0.1:{port}", settings, http)
    finally:
        await runner.cleanup()


def envelope(operation: str, inner: str) -> bytes:
    return (
        f'<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="{SOAP_ENV}" '
        f'xmlns:dc="{NS}"><soap:Body><dc:{operation}>{inner}</dc:{operation}>'
        "</soap:Body></soap:Envelope>"
    ).encode()


def fields(**values: str | dict[str, str] | None) -> str:
    """``<dc:Name>value</dc:Name>`` for each keyword; dicts nest; None is left out."""
    parts = []
    for name, value in values.items():
        if value is None:
            continue
        inner = fields(**value) if isinstance(value, dict) else value
        parts.append(f"<dc:{name}>{inner}</dc:{name}>")
    return "".join(parts)


def requester(**changes: str) -> dict[str, str]:
    values = {
        "MaYeuCau": str(uuid.uuid4()),
        "MaDVC": "1.001612",
        "MaCanBo": "031080000123",
        "MaDonVi": "000.00.31.H29",
    }
    return values | changes


def lookup_body(personal_id: str, name: str, birth: str, **requester_changes: str) -> bytes:
    return envelope(
        "TraCuuThongTinCongDan",
        fields(**requester(**requester_changes), SoDinhDanh=personal_id, HoVaTen=name,
               NgayThangNamSinh=birth),
    )  # fmt: skip


def soap_body(raw: bytes) -> Element:
    root: Element = fromstring(raw)
    body = root.find(f"{{{SOAP_ENV}}}Body")
    assert body is not None
    return body[0]


def text(element: Element, *path: str) -> str | None:
    """Text at a path of local names under ``element`` (service namespace)."""
    found: Element | None = element
    for name in path:
        assert found is not None
        found = found.find(f"{{{NS}}}{name}")
        if found is None:
            return None
    return None if found is None else found.text


def fault_code(fault: Element) -> str | None:
    detail = fault.find("detail")
    assert detail is not None
    return text(detail, "LoiNghiepVu", "MaLoi")
