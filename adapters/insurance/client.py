"""The social-insurance client: an API key per call and the database's error codes mapped.

| maLoi | HTTP | ours |
|---|---|---|
| 00 | 200 | the result (`duLieu`) |
| 01 | 200 | RecordNotFound (404) |
| 02 | 400 | CentralRejected (422): the database refused our input |
| 03 | 401 | CentralProtocolError (502): our API key is refused; an operator must act |
| 04 | 200 | CentralRejected (422): name / date of birth do not match the card |
| 99 | 500 | TransientError: retried |

Anything that is not the envelope (plain-text 5xx, truncated bodies) comes
from the infrastructure: transient statuses are retried, the rest is a 502.
"""

from __future__ import annotations

from typing import Any

from adapters.central import CentralSession
from adapters.errors import (
    CentralProtocolError,
    CentralRejected,
    ConfigError,
    RecordNotFound,
    TransientError,
)
from adapters.insurance import wire
from adapters.interface import Purpose
from schemas.config import AdapterSettings

PREFIX = "/apiBHXH/"
HOUSEHOLD = "getTraCuuTtHgdByMaSoBhxh"
SEARCH = "getMaSoBhxhByTieuChi"
HISTORY = "getQuaTrinhThamGia"
CARD = "kiemTraTheBhyt"


class InsuranceClient:
    def __init__(self, session: CentralSession, settings: AdapterSettings) -> None:
        key = settings.credentials.get("api_key")
        if key is None:
            raise ConfigError("adapters.insurance.credentials lacks api_key (run `lgsp init`)")
        self.session = session
        self._headers = {
            "X-API-KEY": key.get_secret_value(),
            "Accept": "application/json",
        }

    async def call(
        self, operation: str, body: dict[str, Any], purpose: Purpose | None = None
    ) -> Any:
        """POST one operation; its `duLieu`, or one of our errors. The purpose trail travels
        in the body, camelCase like the rest (`maCanBo`, `maThuTuc`, `maHoSo`)."""
        if purpose is not None:
            body = {
                **body,
                "maCanBo": purpose.officer_id,
                "maThuTuc": purpose.procedure_code,
                "maHoSo": purpose.case_id,
            }
        response = await self.session.request(
            "POST", PREFIX + operation, headers=self._headers, json=body
        )
        if response.transient:
            raise response.transient_error("insurance service")
        if response.status == 401:
            raise CentralProtocolError("the insurance service refused the gateway's API key")
        if response.status not in (200, 400):
            raise CentralProtocolError(
                f"unexpected status {response.status} from the insurance service"
            )
        answer = wire.parse_envelope(response.body)
        code = answer.code
        if code == wire.OK and response.status == 200:
            return answer.data
        if code == wire.NOT_FOUND:
            raise RecordNotFound("the social-insurance database has no such record")
        if code == wire.INVALID_INPUT:
            raise CentralRejected("the insurance service refused the request as invalid (02)")
        if code == wire.DETAILS_MISMATCH:
            raise CentralRejected("the name or date of birth does not match the card (04)")
        if code == wire.UNAUTHORISED:
            raise CentralProtocolError("the insurance service refused the gateway's API key")
        if code == wire.INTERNAL:
            raise TransientError("insurance service internal error (99)")
        raise CentralProtocolError("unknown error code from the insurance service")
