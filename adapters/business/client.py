"""The business registry client: OAuth2 client credentials and the registry's answers mapped.

The token is fetched lazily with HTTP Basic client authentication, cached and
refreshed once 80 % of its lifetime has passed, so a busy worker never sends a
token about to expire. Concurrent callers share one fetch (an `asyncio.Lock`).
A 401 from the API (the registry restarted, or expired our token early) gets
exactly one refresh and one retry within the same attempt; a second 401 means
our credentials are refused, which no retry can fix.

Business answers ("not found", "invalid code") are permanent and never retried.
"""

from __future__ import annotations

import asyncio
import base64
import time
from collections.abc import Callable

from adapters.business import wire
from adapters.central import CentralResponse, CentralSession
from adapters.errors import (
    CentralProtocolError,
    CentralRejected,
    ConfigError,
    RecordNotFound,
)
from adapters.interface import Purpose
from schemas.config import AdapterSettings

TOKEN_PATH = "/token"  # noqa: S105 (a URL path, not a password)
DETAIL_PATH = "/apiCSDLDKDN/1.0/chiTietDoanhNghiep"
REQUIRED_CREDENTIALS = ("client_id", "client_secret")
# Refresh when this share of the token's lifetime has passed.
REFRESH_AT = 0.8


class BusinessClient:
    def __init__(
        self,
        session: CentralSession,
        settings: AdapterSettings,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        missing = [k for k in REQUIRED_CREDENTIALS if k not in settings.credentials]
        if missing:
            raise ConfigError(
                f"adapters.business.credentials lacks {', '.join(missing)} (run `lgsp init`)"
            )
        client_id = settings.credentials["client_id"].get_secret_value()
        secret = settings.credentials["client_secret"].get_secret_value()
        self.session = session
        self._basic = "Basic " + base64.b64encode(f"{client_id}:{secret}".encode()).decode()
        self._clock = clock
        self._token: str | None = None
        self._refresh_at = 0.0
        self._lock = asyncio.Lock()
        self.token_fetches = 0

    def _fresh(self, stale: str | None) -> str | None:
        token = self._token
        if token is not None and token != stale and self._clock() < self._refresh_at:
            return token
        return None

    async def token(self, *, stale: str | None = None) -> str:
        """A valid token; `stale` names one the API refused, which is never handed out again."""
        token = self._fresh(stale)
        if token is not None:
            return token
        async with self._lock:
            # Another caller may have fetched one while we waited for the lock.
            token = self._fresh(stale)
            if token is not None:
                return token
            return await self._fetch()

    async def _fetch(self) -> str:
        started = self._clock()
        response = await self.session.request(
            "POST",
            TOKEN_PATH,
            headers={"Authorization": self._basic, "Accept": "application/json"},
            data={"grant_type": "client_credentials"},
        )
        self.token_fetches += 1
        if response.transient:
            raise response.transient_error("business registry token endpoint")
        if response.status in (400, 401):
            # Our client credentials are refused: an operator must act, retrying cannot help.
            raise CentralProtocolError(
                f"the business registry refused our client credentials ({response.status})"
            )
        if response.status != 200:
            raise CentralProtocolError(
                f"unexpected status {response.status} from the business registry's token endpoint"
            )
        answer = wire.parse_token(response.body)
        if answer.token_type.lower() != "bearer":
            raise CentralProtocolError("the business registry issued a token that is not Bearer")
        self._token = answer.access_token
        self._refresh_at = started + answer.expires_in * REFRESH_AT
        return answer.access_token

    async def _get(self, token: str, tax_code: str, purpose: Purpose | None) -> CentralResponse:
        return await self.session.request(
            "GET",
            DETAIL_PATH,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                **wire.purpose_headers(purpose),
            },
            params=wire.query(tax_code),
        )

    async def enterprise(self, tax_code: str, purpose: Purpose | None = None) -> wire.DetailAnswer:
        """The registry's answer for one enterprise, or one of our errors."""
        token = await self.token()
        response = await self._get(token, tax_code, purpose)
        if response.status == 401:
            token = await self.token(stale=token)
            response = await self._get(token, tax_code, purpose)
            if response.status == 401:
                raise CentralProtocolError("the business registry refused a freshly issued token")
        if response.transient:
            raise response.transient_error("business registry")
        if response.status not in (200, 400):
            raise CentralProtocolError(
                f"unexpected status {response.status} from the business registry"
            )
        answer = wire.parse_detail(response.body)
        if answer.status == "1" and response.status == 200:
            return answer
        if answer.error_code == wire.NOT_FOUND:
            raise RecordNotFound("no enterprise has this tax code")
        if answer.error_code == wire.INVALID_MSDN:
            raise CentralRejected("the business registry refused the tax code as invalid")
        raise CentralProtocolError(
            f"unexpected answer from the business registry (Status {answer.status!r})"
        )
