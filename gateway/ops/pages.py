"""The operator dashboard page (`GET /ops`) and its login form (`POST /ops/login`).

Self-contained HTML (no external assets: government networks are often
offline) that reads the `/ops` JSON endpoints with the read-only cookie. The
page is served on the main application, since it must answer the login form
to whoever is not signed in yet.
"""

from __future__ import annotations

from html import escape
from importlib import resources

from aiohttp import web

from gateway.ops.app import OPERATOR

PAGES: web.AppKey[dict[str, str]] = web.AppKey("ops_pages")
PAGE_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src data:; form-action 'self'; frame-ancestors 'none'"
    ),
}


def _page(name: str) -> str:
    return resources.files("gateway.ops").joinpath("static", name).read_text(encoding="utf-8")


def _login_page(request: web.Request, message: str = "") -> web.Response:
    html = request.app[PAGES]["login"].replace("{{message}}", escape(message))
    return web.Response(text=html, status=401, content_type="text/html", headers=PAGE_HEADERS)


def _signed_in(request: web.Request) -> web.StreamResponse:
    """Set the cookie and go to the page: the token leaves the address bar and history."""
    response = web.Response(status=303, headers={"Location": "/ops"})
    request.app[OPERATOR].set_cookie(response, request)
    return response


async def dashboard(request: web.Request) -> web.StreamResponse:
    operator = request.app[OPERATOR]
    offered = request.query.get("token")
    if offered is not None:
        if operator.matches(offered):
            return _signed_in(request)
        return _login_page(request, "That operator token is not valid.")
    if not operator.accepts(request, cookie_ok=True):
        return _login_page(request)
    return web.Response(
        text=request.app[PAGES]["dashboard"], content_type="text/html", headers=PAGE_HEADERS
    )


async def login(request: web.Request) -> web.StreamResponse:
    form = await request.post()
    offered = form.get("token")
    if isinstance(offered, str) and request.app[OPERATOR].matches(offered):
        return _signed_in(request)
    return _login_page(request, "That operator token is not valid.")


def load_pages() -> dict[str, str]:
    return {name: _page(f"{name}.html") for name in ("dashboard", "login")}
