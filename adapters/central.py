"""The HTTP session adapters use to reach a central system.

One per worker process, injected into the adapter's client. It enforces what
every central call needs and no adapter should have to remember: a connection
pool of a chosen size, a connect timeout, no redirects followed, a cap on the
answer's size, and transport failures mapped to `TransientError` at this one
boundary. A "try again later" answer becomes `TransientError` through
`CentralResponse.transient_error`, which carries the answer's `Retry-After`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from typing import Any

import aiohttp
from multidict import CIMultiDictProxy

from adapters.errors import CentralProtocolError, TransientError
from schemas.config import AdapterSettings

# Statuses that say "try again later" in any HTTP dialect.
TRANSIENT_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


@dataclass(frozen=True, slots=True)
class CentralResponse:
    status: int
    headers: CIMultiDictProxy[str]
    body: bytes

    @property
    def transient(self) -> bool:
        return self.status in TRANSIENT_STATUSES

    @property
    def retry_after(self) -> float | None:
        """The seconds the answer's `Retry-After` asks for; None without a usable one."""
        return parse_retry_after(self.headers.get("Retry-After"))

    def transient_error(self, system: str) -> TransientError:
        """This answer as a `TransientError` ("<system> answered 503"), with its Retry-After."""
        return TransientError(f"{system} answered {self.status}", retry_after=self.retry_after)


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """RFC 9110 §10.2.3: delay-seconds or an HTTP-date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None  # an HTTP-date is always GMT; a date without a zone is not one
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class CentralSession:
    def __init__(self, settings: AdapterSettings, base_url: str = "") -> None:
        self.base_url = (settings.base_url or base_url).rstrip("/")
        self.max_response_bytes = settings.max_response_bytes
        self._settings = settings
        self._session: aiohttp.ClientSession | None = None

    def _open(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._settings.pool_size),
                # The runtime time-boxes each attempt; this only bounds connecting.
                timeout=aiohttp.ClientTimeout(total=None, connect=self._settings.connect_timeout),
                auto_decompress=True,
            )
        return self._session

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: bytes | str | Mapping[str, str] | None = None,
        json: Any = None,
    ) -> CentralResponse:
        """Send one request; never follows a redirect; reads at most `max_response_bytes`."""
        url = path if path.startswith(("http://", "https://")) else self.base_url + path
        try:
            async with self._open().request(
                method,
                url,
                headers=headers,
                params=params,
                data=data,
                json=json,
                allow_redirects=False,
            ) as resp:
                if 300 <= resp.status < 400:
                    raise CentralProtocolError(
                        f"central system answered a redirect ({resp.status})"
                    )
                body = await self._read_capped(resp)
                return CentralResponse(resp.status, resp.headers, body)
        except (aiohttp.ClientConnectionError, aiohttp.ClientPayloadError) as exc:
            raise TransientError(
                f"connection to the central system failed: {type(exc).__name__}"
            ) from exc
        except aiohttp.ClientResponseError as exc:
            raise CentralProtocolError(
                f"unreadable answer from the central system ({exc.status})"
            ) from exc

    async def _read_capped(self, resp: aiohttp.ClientResponse) -> bytes:
        cap = self.max_response_bytes
        if resp.content_length is not None and resp.content_length > cap:
            raise CentralProtocolError(f"central answer larger than {cap} bytes")
        chunks: list[bytes] = []
        size = 0
        async for chunk in resp.content.iter_chunked(64 * 1024):
            size += len(chunk)
            if size > cap:
                raise CentralProtocolError(f"central answer larger than {cap} bytes")
            chunks.append(chunk)
        return b"".join(chunks)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
            # Let the connector's transports finish closing before the loop goes away.
            await asyncio.sleep(0)
