"""The civil-status client: every request signed over its body with HMAC-SHA256.

The register authenticates a calling system by a key id and a shared secret.
Each request carries `X-HT-Key-Id`, `X-HT-Timestamp` (Unix seconds), a fresh
random `X-HT-Nonce`, and `X-HT-Signature`: base64 of HMAC-SHA256 over

    METHOD \\n PATH \\n TIMESTAMP \\n NONCE \\n hex(SHA-256(body))

so the body cannot be changed and a captured request cannot be replayed (the
register refuses a timestamp outside its window and a nonce it has seen).
Each attempt is signed afresh: a retry is a new request, not a replay.

| ma_ket_qua | HTTP | ours |
|---|---|---|
| 0 | 200 | the record (`du_lieu`) |
| 1 | 200 | RecordNotFound (404): no such certificate, or name / birth date do not match it |
| 2 | 400 | CentralRejected (422): the register refused our input |
| 3, 4 | 401 | CentralProtocolError (502): signature refused or replay window missed (key, clock) |
| 9 | 500 | TransientError: retried |
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from typing import Any

import orjson

from adapters.civil_status import wire
from adapters.sdk import (
    AdapterSettings,
    CentralProtocolError,
    CentralRejected,
    CentralSession,
    ConfigError,
    RecordNotFound,
    TransientError,
)

LOOKUP_PATH = "/hotich/v1/khai-sinh/tra-cuu"
REQUIRED_CREDENTIALS = ("key_id", "secret")


def sign(secret: str, method: str, path: str, timestamp: str, nonce: str, body: bytes) -> str:
    text = "\n".join([method.upper(), path, timestamp, nonce, hashlib.sha256(body).hexdigest()])
    return base64.b64encode(
        hmac.new(secret.encode(), text.encode(), hashlib.sha256).digest()
    ).decode()


class CivilStatusClient:
    def __init__(self, session: CentralSession, settings: AdapterSettings) -> None:
        missing = [k for k in REQUIRED_CREDENTIALS if k not in settings.credentials]
        if missing:
            raise ConfigError(
                f"adapters.civil-status.credentials lacks {', '.join(missing)} (run `lgsp init`)"
            )
        self.session = session
        self.key_id = settings.credentials["key_id"].get_secret_value()
        self._secret = settings.credentials["secret"].get_secret_value()

    def signed_headers(self, method: str, path: str, body: bytes) -> dict[str, str]:
        timestamp, nonce = str(int(time.time())), secrets.token_urlsafe(18)
        return {
            "Content-Type": "application/json; charset=utf-8",
            "Accept": "application/json",
            "X-HT-Key-Id": self.key_id,
            "X-HT-Timestamp": timestamp,
            "X-HT-Nonce": nonce,
            "X-HT-Signature": sign(self._secret, method, path, timestamp, nonce, body),
        }

    async def post(self, path: str, payload: dict[str, Any]) -> Any:
        """POST one signed request; the answer's `du_lieu`, or one of our errors."""
        body = orjson.dumps(payload)  # signed as sent: the bytes are fixed here
        response = await self.session.request(
            "POST", path, headers=self.signed_headers("POST", path, body), data=body
        )
        if response.transient:
            raise TransientError(f"civil-status register answered {response.status}")
        answer = wire.parse_envelope(response.body)
        if answer.code == wire.OK and response.status == 200:
            return answer.data
        if answer.code == wire.NOT_FOUND:
            raise RecordNotFound("the civil-status register has no matching birth registration")
        if answer.code == wire.INVALID:
            raise CentralRejected("the civil-status register refused the request as invalid (2)")
        if answer.code in (wire.UNAUTHORISED, wire.REPLAYED):
            raise CentralProtocolError(
                f"the civil-status register refused our signature ({answer.code}): check the "
                "key and this machine's clock"
            )
        if answer.code == wire.INTERNAL:
            raise TransientError("civil-status register internal error (9)")
        raise CentralProtocolError("unknown answer from the civil-status register")
