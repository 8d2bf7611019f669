"""Failed client authentications at `POST /token` are throttled per client id and per address.

After `auth.token_throttle.failures_per_client` failures naming one client id, or
`failures_per_address` from one address, within `window` seconds, every token
request naming that id or coming from that address is refused with 429 and
`Retry-After`, before any secret is checked, until the oldest failure ages out.

What a guesser learns stays what the uniform refusal allows: failures count the
same for an id that exists and one that does not, and a throttled answer is the
same for both (it costs no secret check, for any id). The price: someone who
fails on purpose can hold a client's token requests off for `window` seconds;
clients keep their current token (valid for `auth.token_ttl`) meanwhile, and
mTLS clients are affected the same way. Refusals are counted in
`lgsp_token_throttled_total` (label: `scope`, client or address).
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from collections.abc import Iterator

import structlog
from aiohttp import web
from prometheus_client.core import CounterMetricFamily, Metric

from gateway.security.failures import FailureWindow
from schemas.security import TokenThrottle as TokenThrottleSettings

log: structlog.typing.FilteringBoundLogger = structlog.get_logger("lgsp.auth")

THROTTLED = "auth.token_throttled"


def _key(scope: str, value: str) -> bytes:
    # Hashed: ids typed by a guesser may be anything, and are kept only as a short digest.
    return hashlib.blake2b(f"{scope}\x00{value}".encode(), digest_size=16).digest()


class TokenThrottle:
    def __init__(self, settings: TokenThrottleSettings) -> None:
        self.by_client = FailureWindow(
            settings.failures_per_client, settings.window, settings.max_tracked
        )
        self.by_address = FailureWindow(
            settings.failures_per_address, settings.window, settings.max_tracked
        )
        self.failed = 0
        self.throttled: Counter[str] = Counter()

    @staticmethod
    def _address(request: web.Request) -> str:
        return request.remote or "-"

    def blocked_for(self, request: web.Request, client_id: str) -> int:
        """Whole seconds to wait (for Retry-After); 0 when the request may try."""
        for scope, window, value in (
            ("address", self.by_address, self._address(request)),
            ("client", self.by_client, client_id),
        ):
            wait = window.blocked_for(_key(scope, value))
            if wait > 0:
                self.throttled[scope] += 1
                log.warning(THROTTLED, scope=scope)
                return max(1, math.ceil(wait))
        return 0

    def failed_attempt(self, request: web.Request, client_id: str) -> None:
        self.failed += 1
        self.by_address.fail(_key("address", self._address(request)))
        self.by_client.fail(_key("client", client_id))

    def collect(self) -> Iterator[Metric]:
        """Prometheus collector: throttled token requests, and the failures that feed them."""
        throttled = CounterMetricFamily(
            "lgsp_token_throttled",
            "Token requests refused after repeated failed client authentications.",
            labels=["scope"],
        )
        for scope in ("address", "client"):
            throttled.add_metric([scope], self.throttled[scope])
        failed = CounterMetricFamily(
            "lgsp_token_failures", "Token requests whose client authentication failed."
        )
        failed.add_metric([], self.failed)
        yield throttled
        yield failed


TOKEN_THROTTLE = web.AppKey("token_throttle", TokenThrottle)
