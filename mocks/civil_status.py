"""The civil-status mock: a REST API whose requests are signed over the body with HMAC.

``POST /hotich/v1/khai-sinh/tra-cuu`` with a JSON body
``{"so_giay_khai_sinh": "<so>/<year>", "ho_ten": ..., "ngay_sinh": "dd/MM/yyyy"}``
answers the birth registration (mocks/birth_registrations.py derives them
from the population data set). Every request carries::

    X-HT-Key-Id: <key id>           which client key signed it
    X-HT-Timestamp: <unix seconds>  refused outside ±max_clock_skew_s
    X-HT-Nonce: <16-64 [A-Za-z0-9_-]> refused if seen within the window (a replay)
    X-HT-Signature: base64(HMAC-SHA256(secret, METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n
                                        hex(SHA-256(body))))

Answers are the envelope ``{"ma_ket_qua": ..., "thong_diep": ..., "du_lieu": ...}``;
``CODES`` lists them. A certificate whose name or date of birth do not match is
answered "not found", like one that does not exist: the register never confirms
a certificate to someone who cannot name its holder. The key id and secret are
the adapter's configured credentials (``MockSettings.credentials_for``).
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import structlog
from aiohttp import web

from mocks.birth_registrations import certificate_of, index, registration_record
from mocks.data import Dataset
from mocks.names import name_key
from mocks.settings import MockSettings

SYSTEM = "civil-status"
LOOKUP_PATH = "/hotich/v1/khai-sinh/tra-cuu"

OK, NOT_FOUND, INVALID, UNAUTHORISED, REPLAYED, INTERNAL = "0", "1", "2", "3", "4", "9"
#: ma_ket_qua -> (HTTP status, thong_diep).
CODES: dict[str, tuple[int, str]] = {
    OK: (200, "Thành công"),
    NOT_FOUND: (200, "Không tìm thấy thông tin khai sinh"),
    INVALID: (400, "Dữ liệu yêu cầu không hợp lệ"),
    UNAUTHORISED: (401, "Chữ ký hoặc khóa truy cập không hợp lệ"),
    REPLAYED: (401, "Yêu cầu bị gửi lại hoặc quá hạn (timestamp/nonce)"),
    INTERNAL: (500, "Lỗi hệ thống"),
}
NONCE_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")
CERTIFICATE_RE = re.compile(r"[0-9]{1,6}/[0-9]{4}")

log = structlog.get_logger("mocks.civil_status")


def signature(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The request signature both sides compute (the adapter's client signs the same way)."""
    text = "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    digest = hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


@dataclass
class NonceWindow:
    """Nonces seen within the replay window; a nonce seen again in it is a replay."""

    window_s: int
    seen: dict[str, float] = field(default_factory=dict)

    def fresh(self, nonce: str, now: float) -> bool:
        if len(self.seen) > 10_000 or next(iter(self.seen.values()), now) < now - self.window_s:
            self.seen = {n: t for n, t in self.seen.items() if t >= now - self.window_s}
        if nonce in self.seen:
            return False
        self.seen[nonce] = now
        return True


@dataclass
class CivilStatusService:
    dataset: Dataset
    certificates: dict[str, list[str]]
    key_id: str
    secret: str
    skew_s: int
    nonces: NonceWindow


CIVIL_STATUS = web.AppKey("mocks.civil_status", CivilStatusService)


def envelope(code: str, data: Any = None) -> web.Response:
    status, text = CODES[code]
    body = {"ma_ket_qua": code, "thong_diep": text, "du_lieu": data}
    return web.Response(body=orjson.dumps(body), status=status, content_type="application/json")


def _authentic(request: web.Request, body: bytes, service: CivilStatusService) -> str | None:
    """None when the request is signed by our client, fresh and not replayed; else a code."""
    headers = request.headers
    key_id, timestamp = headers.get("X-HT-Key-Id", ""), headers.get("X-HT-Timestamp", "")
    nonce, sent = headers.get("X-HT-Nonce", ""), headers.get("X-HT-Signature", "")
    if not hmac.compare_digest(key_id.encode(), service.key_id.encode()):
        return UNAUTHORISED
    expected = signature(service.secret, request.method, request.path, timestamp, nonce, body)
    if not hmac.compare_digest(sent.encode(), expected.encode()):
        return UNAUTHORISED
    now = time.time()
    if not timestamp.isdigit() or abs(now - int(timestamp)) > service.skew_s:
        return REPLAYED
    if not NONCE_RE.fullmatch(nonce) or not service.nonces.fresh(nonce, now):
        return REPLAYED
    return None


def lookup(body: Any, service: CivilStatusService) -> web.Response:
    if not isinstance(body, dict):
        return envelope(INVALID)
    number, name, born = body.get("so_giay_khai_sinh"), body.get("ho_ten"), body.get("ngay_sinh")
    if not (isinstance(number, str) and CERTIFICATE_RE.fullmatch(number)):
        return envelope(INVALID)
    if not (isinstance(name, str) and name.strip() and isinstance(born, str)):
        return envelope(INVALID)
    try:
        birth = dt.datetime.strptime(born, "%d/%m/%Y").strftime("%Y%m%d")
    except ValueError:
        return envelope(INVALID)
    for personal_id in service.certificates.get(number, []):
        citizen = service.dataset.citizen_by_id(personal_id)
        certificate = certificate_of(citizen) if citizen else None
        if citizen is None or certificate is None:
            continue
        if citizen.ngay_sinh == birth and name_key(citizen.ho_va_ten) == name_key(name):
            parents = [
                service.dataset.citizen_by_id(r.so_dinh_danh) if r and r.so_dinh_danh else None
                for r in (citizen.cha, citizen.me)
            ]
            return envelope(OK, registration_record(citizen, certificate, *parents))
    return envelope(NOT_FOUND)


async def _lookup(request: web.Request) -> web.Response:
    service = request.app[CIVIL_STATUS]
    body = await request.read()
    refused = _authentic(request, body, service)
    if refused is not None:
        return envelope(refused)
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        return envelope(INVALID)
    try:
        return lookup(parsed, service)
    except Exception:
        log.exception("mocks.civil_status.internal_error")
        return envelope(INTERNAL)


def setup_civil_status(app: web.Application, settings: MockSettings, dataset: Path) -> None:
    """Add the civil-status service to ``app`` (its key from the adapter's credentials)."""
    credentials = settings.credentials_for(SYSTEM, "key_id", "secret")

    async def service(app: web.Application) -> AsyncIterator[None]:
        with Dataset(dataset) as data:
            app[CIVIL_STATUS] = CivilStatusService(
                data,
                index(data.citizens()),
                credentials["key_id"],
                credentials["secret"],
                settings.max_clock_skew_s,
                NonceWindow(2 * settings.max_clock_skew_s),
            )
            yield

    app.cleanup_ctx.append(service)
    app.router.add_post(LOOKUP_PATH, _lookup, name="tra-cuu-khai-sinh")
