"""The population service client: X-Road-style signed calls and SOAP faults mapped to our errors.

Every call carries `X-Road-Client`, `ApiKey`, a millisecond `Timestamp` and an
`Authorization: Basic user:sha256(path + user + timestamp + secret)`, signed
afresh per attempt (a retried call gets a new timestamp).
"""

from __future__ import annotations

import base64
import hashlib
import time
from xml.etree.ElementTree import Element

from adapters.central import CentralSession
from adapters.errors import (
    CentralProtocolError,
    CentralRejected,
    ConfigError,
    IdempotencyConflict,
    PermanentError,
    TransientError,
)
from adapters.population import wire
from schemas.config import AdapterSettings

LOOKUP_PATH = "/csdldc/v1/TraCuuThongTinCongDan"
DECLARE_PATH = "/csdldc/v1/KhaiBaoTamTru"
REQUIRED_CREDENTIALS = ("client", "user", "api_key", "secret")

# Platform codes answered as "the caller's input was refused" (422); any other Client fault
# is treated the same, Server faults are transient.
KEY_REUSED = "DC-004"
AUTH_CODES = frozenset({"XR-001", "XR-002", "XR-003"})


class PopulationClient:
    def __init__(self, session: CentralSession, settings: AdapterSettings) -> None:
        missing = [k for k in REQUIRED_CREDENTIALS if k not in settings.credentials]
        if missing:
            raise ConfigError(
                f"adapters.population.credentials lacks {', '.join(missing)} (run `lgsp init`)"
            )
        creds = {k: v.get_secret_value() for k, v in settings.credentials.items()}
        self.session = session
        self.client_name = creds["client"]
        self.user = creds["user"]
        self.api_key = creds["api_key"]
        self.secret = creds["secret"]
        self.unit = creds.get("unit", "000.00.31.H29")

    def signed_headers(self, path: str) -> dict[str, str]:
        timestamp = str(int(time.time() * 1000))
        digest = hashlib.sha256((path + self.user + timestamp + self.secret).encode()).hexdigest()
        basic = base64.b64encode(f"{self.user}:{digest}".encode()).decode()
        return {
            "X-Road-Client": self.client_name,
            "ApiKey": self.api_key,
            "Timestamp": timestamp,
            "Authorization": f"Basic {basic}",
            "Content-Type": "text/xml; charset=utf-8",
            "SOAPAction": f'"{path.rsplit("/", 1)[-1]}"',
        }

    async def call(
        self, path: str, body: bytes, extra_headers: dict[str, str] | None = None
    ) -> Element:
        """POST one SOAP request; the answer element, or one of our errors."""
        headers = self.signed_headers(path) | (extra_headers or {})
        response = await self.session.request("POST", path, headers=headers, data=body)
        if response.status == 401:
            # Our credentials are refused: no retry helps, an operator must act.
            raise CentralProtocolError("the population service refused the gateway's credentials")
        if response.status in (502, 503, 504, 429):
            raise response.transient_error("population service")
        answer = wire.parse_body(response.body)
        if wire.local(answer.tag) == "Fault":
            raise self._fault(answer)
        if response.status != 200:
            raise TransientError(f"population service answered {response.status}")
        return answer

    @staticmethod
    def _fault(fault: Element) -> PermanentError | TransientError:
        side, code, message = wire.fault_code(fault)
        if side != "Client":
            return TransientError(f"population service fault {code or side}")
        if code == KEY_REUSED:
            return IdempotencyConflict("the Idempotency-Key was used for a different declaration")
        if code in AUTH_CODES:
            return CentralProtocolError(f"the population service refused our signature ({code})")
        # The service's message is about the request, not the person; keep it for the caller.
        return CentralRejected(f"the population service refused the request ({code}): {message}")
