"""X-Road-style authentication of the population service.

Every call carries four headers::

    X-Road-Client: VN/GOV/000.00.31.H29/LGSP-HP     the calling system
    ApiKey:        <api key>
    Timestamp:     <milliseconds since the Unix epoch, UTC>
    Authorization: Basic base64(<user> ":" <password>)

where ``password = hex(SHA-256(path + user + timestamp + secret))``: the
request's URL path exactly as sent (no scheme, host or query string), the
user name, the Timestamp header's digits and the shared secret, concatenated
with no separator and encoded as UTF-8; the digest in lower-case hex. The
timestamp must be within ``max_clock_skew_s`` of the mock's clock, either
way, so a captured request cannot be replayed later.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time
from dataclasses import dataclass

from multidict import CIMultiDictProxy

from mocks.soap import SoapFault

#: Platform fault codes of the authentication layer (all HTTP 401).
AUTH_FAILED = "XR-001"
SIGNATURE_INVALID = "XR-002"
TIMESTAMP_EXPIRED = "XR-003"


def password(path: str, user: str, timestamp: str, secret: str) -> str:
    """The Basic-auth password the caller must send for this request."""
    return hashlib.sha256((path + user + timestamp + secret).encode()).hexdigest()


def headers(
    path: str, client: str, user: str, api_key: str, secret: str, now_ms: int | None = None
) -> dict[str, str]:
    """The four authentication headers for a call to ``path`` (tests and docs)."""
    timestamp = str(now_ms if now_ms is not None else int(time.time() * 1000))
    token = base64.b64encode(f"{user}:{password(path, user, timestamp, secret)}".encode())
    return {
        "X-Road-Client": client,
        "ApiKey": api_key,
        "Timestamp": timestamp,
        "Authorization": f"Basic {token.decode()}",
    }


@dataclass(frozen=True, slots=True)
class XRoadAuth:
    """Checks a request's headers against the one licensed client."""

    client: str
    user: str
    api_key: str
    secret: str
    max_skew_ms: int

    def verify(self, path: str, request_headers: CIMultiDictProxy[str]) -> None:
        """Return if the call is authentic, raise a 401 ``SoapFault`` if not."""
        client = request_headers.get("X-Road-Client")
        if client is None or client != self.client:
            raise _fail(AUTH_FAILED, "Hệ thống gọi (X-Road-Client) không được đăng ký")
        api_key = request_headers.get("ApiKey", "")
        if not hmac.compare_digest(api_key.encode(), self.api_key.encode()):
            raise _fail(AUTH_FAILED, "ApiKey không hợp lệ")
        timestamp = request_headers.get("Timestamp", "")
        if not timestamp.isdigit() or not timestamp.isascii():
            raise _fail(TIMESTAMP_EXPIRED, "Timestamp phải là số mili giây kể từ 1970 (UTC)")
        if abs(int(time.time() * 1000) - int(timestamp)) > self.max_skew_ms:
            raise _fail(TIMESTAMP_EXPIRED, "Timestamp lệch quá thời gian cho phép")
        user, sent = _basic(request_headers.get("Authorization", ""))
        if user != self.user:
            raise _fail(AUTH_FAILED, "Tài khoản không hợp lệ")
        expected = password(path, self.user, timestamp, self.secret)
        if not hmac.compare_digest(sent.encode(), expected.encode()):
            raise _fail(SIGNATURE_INVALID, "Chữ ký (Authorization) không hợp lệ")


def _basic(value: str) -> tuple[str, str]:
    scheme, _, encoded = value.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise _fail(AUTH_FAILED, "Thiếu Authorization: Basic")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError) as exc:
        raise _fail(AUTH_FAILED, "Authorization: Basic không giải mã được") from exc
    user, colon, secret = decoded.partition(":")
    if not colon:
        raise _fail(AUTH_FAILED, "Authorization: Basic phải có dạng user:password")
    return user, secret


def _fail(code: str, message: str) -> SoapFault:
    return SoapFault(code, message, status=401)
