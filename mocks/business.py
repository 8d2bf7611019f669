"""The national business registration mock: JSON REST behind OAuth2.

* ``POST /token``: client credentials (RFC 6749 §4.4), the client
  authenticated by HTTP Basic or by ``client_id``/``client_secret`` in the
  form. Tokens are opaque and expire after ``business_token_ttl`` seconds.
* ``GET /apiCSDLDKDN/1.0/chiTietDoanhNghiep?msdn=<tax code>`` with
  ``Authorization: Bearer <token>``: the enterprise's details.
* ``POST /_admin/expire-tokens``: every token issued so far expires now.

Gateway-level refusals look like WSO2 API Manager's (a ``fault`` object with
code 900901/900902); business outcomes use the registry's envelope
``{"Status", "Message", "DataCount", ...}``. See docs/mocks.md.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from aiohttp import web

from mocks.data import Dataset
from mocks.identifiers import is_tax_code, normalise_tax_code
from mocks.places import locate
from mocks.records import Enterprise
from mocks.settings import MockSettings
from mocks.stats import STATS

TOKEN_PATH = "/token"  # noqa: S105 -- a URL path, not a password
DETAIL_PATH = "/apiCSDLDKDN/1.0/chiTietDoanhNghiep"
# The purpose trail, as request headers: the officer, the procedure code, the case.
OFFICER_HEADER = "X-MaCanBo"
PROCEDURE_HEADER = "X-MaTTHC"
CASE_HEADER = "X-MaHoSo"
SCOPE = "am_application_scope default"

#: ErrorCode of a Status "0" answer.
NOT_FOUND = "NOT_FOUND"
INVALID_MSDN = "INVALID_MSDN"


class TokenStore:
    """Opaque bearer tokens and their expiry (wall-clock seconds)."""

    # Tokens are pruned when this many are held, so that a benchmark that
    # asks for a token per call cannot grow the store without bound.
    _PRUNE_AT = 10_000

    def __init__(self, ttl: int, clock: Callable[[], float] = time.time) -> None:
        self.ttl = ttl
        self._clock = clock
        self._expiry: dict[str, float] = {}

    def issue(self) -> str:
        if len(self._expiry) >= self._PRUNE_AT:
            now = self._clock()
            self._expiry = {t: e for t, e in self._expiry.items() if e > now}
        token = secrets.token_urlsafe(32)
        self._expiry[token] = self._clock() + self.ttl
        return token

    def valid(self, token: str) -> bool:
        expiry = self._expiry.get(token)
        return expiry is not None and expiry > self._clock()

    def expire_all(self) -> int:
        count = sum(1 for e in self._expiry.values() if e > self._clock())
        self._expiry.clear()
        return count


@dataclass(frozen=True, slots=True)
class BusinessService:
    dataset: Dataset
    tokens: TokenStore
    client_id: str
    client_secret: str


BUSINESS = web.AppKey("mocks.business", BusinessService)


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=orjson.dumps(body), status=status, content_type="application/json", headers=headers
    )


def _oauth_error(error: str, description: str, status: int = 400) -> web.Response:
    headers = {"Cache-Control": "no-store"}
    if error == "invalid_client":
        headers["WWW-Authenticate"] = 'Basic realm="business-registry"'
    return _json({"error": error, "error_description": description}, status, headers)


def _basic_credentials(header: str) -> tuple[str, str] | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        client_id, _, secret = (
            base64.b64decode(encoded.strip(), validate=True).decode().partition(":")
        )
    except (binascii.Error, UnicodeDecodeError):
        return None
    return client_id, secret


async def _token(request: web.Request) -> web.Response:
    service = request.app[BUSINESS]
    form = await request.post()
    grant_type = form.get("grant_type")
    if not isinstance(grant_type, str) or not grant_type:
        return _oauth_error("invalid_request", "grant_type is required")
    credentials = _basic_credentials(request.headers.get("Authorization", ""))
    if credentials is None:
        client_id, client_secret = form.get("client_id"), form.get("client_secret")
        if isinstance(client_id, str) and isinstance(client_secret, str):
            credentials = client_id, client_secret
    if credentials is None or not (
        hmac.compare_digest(credentials[0].encode(), service.client_id.encode())
        & hmac.compare_digest(credentials[1].encode(), service.client_secret.encode())
    ):
        return _oauth_error("invalid_client", "Client authentication failed", 401)
    if grant_type != "client_credentials":
        return _oauth_error("unsupported_grant_type", "Only client_credentials is supported")
    body = {
        "access_token": service.tokens.issue(),
        "scope": SCOPE,
        "token_type": "Bearer",
        "expires_in": service.tokens.ttl,
    }
    return _json(body, headers={"Cache-Control": "no-store", "Pragma": "no-cache"})


def _gateway_fault(code: int, message: str, description: str) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="business-registry", error="invalid_token"'}
    return _json({"fault": {"code": code, "message": message, "description": description}},
                 401, headers)  # fmt: skip


def _envelope(status: str, message: str, count: int, **parts: Any) -> dict[str, Any]:
    return {"Status": status, "Message": message, "DataCount": count, **parts}


def enterprise_document(e: Enterprise) -> dict[str, Any]:
    """The registry's answer for one enterprise (without the envelope)."""
    province, district, ward = locate(e.ward_code)
    full_address = ", ".join((e.street_number, ward.name, district.name, province.name, "Việt Nam"))
    return {
        "MainInformation": {
            "ENTERPRISE_ID": e.enterprise_id,
            "ENTERPRISE_GDT_CODE": e.msdn,
            "ENTERPRISE_TYPE_NAME": e.type_name,
            "NAME": e.name,
            "SHORT_NAME": e.short_name,
            "NAME_F": e.name_f,
            "FOUNDING_DATE": e.founding_date,
            "LAST_AMEND_DATE": e.last_amend_date,
            "NUMBER_CHANGES": e.number_changes,
            "ENTERPRISE_STATUS_NAME": e.status_name,
            "LEGAL_NAMES": ", ".join(r.full_name for r in e.representatives),
            "CAPITAL_AMOUNT": e.capital_amount,
        },
        "HOAdress": {
            "CityID": province.code,
            "CityName": province.name,
            "DistrictID": district.code,
            "DistrictName": district.name,
            "WardID": ward.code,
            "WardName": ward.name,
            "StreetNumber": e.street_number,
            "AddressFullText": full_address,
        },
        "BusinessActivity": [
            {"CODE": a.code, "NAME": a.name, "IS_MAIN": a.is_main} for a in e.activities
        ],
        "Member": [
            {"FULL_NAME": m.full_name, "PERSONAL_ID": m.personal_id,
             "CAPITAL_AMOUNT": m.capital_amount, "CAPITAL_PERCENT": m.capital_percent}
            for m in e.members
        ],
        "Representatives": [
            {"FULL_NAME": r.full_name, "PERSONAL_ID": r.personal_id, "POSITION": r.position,
             "BIRTH_DATE": r.birth_date, "GENDER": "Nam" if r.gender == 1 else "Nữ"}
            for r in e.representatives
        ],
    }  # fmt: skip


async def _detail(request: web.Request) -> web.Response:
    service = request.app[BUSINESS]
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return _gateway_fault(900902, "Missing Credentials",
                              "Make sure your API invocation call has a header: "
                              "'Authorization : Bearer ACCESS_TOKEN'")  # fmt: skip
    if not service.tokens.valid(token.strip()):
        return _gateway_fault(900901, "Invalid Credentials",
                              "Access failure for API: /apiCSDLDKDN/1.0, version: 1.0 status: "
                              "(900901) - Invalid Credentials. Make sure you have provided the "
                              "correct security credentials")  # fmt: skip
    # Who asks and why, in the registry's request headers (recorded, not checked).
    request.app[STATS].purpose(
        "chiTietDoanhNghiep",
        request.headers.get(OFFICER_HEADER),
        request.headers.get(PROCEDURE_HEADER),
        request.headers.get(CASE_HEADER),
    )
    msdn = normalise_tax_code(request.query.get("msdn", ""))
    if not is_tax_code(msdn):
        body = _envelope("0", "Mã số doanh nghiệp không hợp lệ", 0, ErrorCode=INVALID_MSDN)
        return _json(body, 400)
    enterprise = service.dataset.enterprise_by_msdn(msdn)
    if enterprise is None:
        body = _envelope("0", "Không tìm thấy thông tin doanh nghiệp", 0, ErrorCode=NOT_FOUND)
        return _json(body)
    return _json(_envelope("1", "Thành công", 1, **enterprise_document(enterprise)))


async def _expire_tokens(request: web.Request) -> web.Response:
    return _json({"expired": request.app[BUSINESS].tokens.expire_all()})


def setup_business(app: web.Application, settings: MockSettings, dataset: Path) -> None:
    """Add the business registration service to ``app``."""

    async def service(app: web.Application) -> AsyncIterator[None]:
        with Dataset(dataset) as data:
            app[BUSINESS] = BusinessService(
                data,
                TokenStore(settings.business_token_ttl),
                settings.business_client_id,
                settings.business_client_secret.get_secret_value(),
            )
            yield

    app.cleanup_ctx.append(service)
    app.router.add_post(TOKEN_PATH, _token, name="token")
    app.router.add_get(DETAIL_PATH, _detail, name="chiTietDoanhNghiep")
    app.router.add_post("/_admin/expire-tokens", _expire_tokens)
