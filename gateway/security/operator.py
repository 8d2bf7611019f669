"""The operator credential (`ops.token`): who may use the operator endpoints.

Not a client token: `Authorization: Bearer <token>`, or HTTP Basic with the
token as the password (any user name). The dashboard page takes it once, from
its login form or `GET /ops?token=...`, and keeps an HttpOnly,
SameSite=Strict cookie that is derived from the token (never the token
itself) and is good for reading only: actions (replay, purge, maintenance)
need the header.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from aiohttp import web
from pydantic import SecretStr

from gateway.problems import ProblemError
from gateway.security.basic import basic_credentials
from schemas.problems import ProblemType

COOKIE = "lgsp_ops"
COOKIE_MAX_AGE = 12 * 3600


def cookie_value(token: str) -> str:
    """What the dashboard cookie holds: derived from the token, useless as a header credential."""
    return hmac.new(token.encode(), b"lgsp-ops-dashboard", hashlib.sha256).hexdigest()


def _presented(request: web.Request) -> str | None:
    """The credential in the Authorization header; "" for a malformed one, None for none."""
    header = request.headers.get("Authorization", "")
    scheme, _, credential = header.partition(" ")
    if scheme.lower() == "bearer":
        return credential.strip()
    if scheme.lower() == "basic":
        basic = basic_credentials(header)
        return basic[1] if basic is not None else ""
    return None


@dataclass(frozen=True, slots=True)
class OperatorCredential:
    token: SecretStr

    def matches(self, offered: str) -> bool:
        """A constant-time comparison; with no token configured nobody is an operator."""
        token = self.token.get_secret_value()
        return bool(token) and hmac.compare_digest(offered.encode(), token.encode())

    def accepts(self, request: web.Request, *, cookie_ok: bool) -> bool:
        token = self.token.get_secret_value()
        if not token:
            return False
        presented = _presented(request)
        if presented is not None:
            return self.matches(presented)
        if cookie_ok:
            cookie = request.cookies.get(COOKIE, "")
            return hmac.compare_digest(cookie.encode(), cookie_value(token).encode())
        return False

    def require(self, request: web.Request) -> None:
        """401 unless the request carries the credential; the read-only cookie never
        authorises a change."""
        if not self.accepts(request, cookie_ok=request.method in ("GET", "HEAD")):
            raise ProblemError(
                401,
                ProblemType.UNAUTHORIZED,
                "Operator credential required",
                "operator endpoints take the operator token (ops.token), not a client token",
                headers={"WWW-Authenticate": 'Bearer realm="lgsp-ops"'},
            )

    def set_cookie(self, response: web.StreamResponse, request: web.Request) -> None:
        response.set_cookie(
            COOKIE,
            cookie_value(self.token.get_secret_value()),
            path="/ops",  # the page and its JSON; never sent with client traffic
            httponly=True,
            samesite="Strict",
            secure=request.secure,
            max_age=COOKIE_MAX_AGE,
        )
