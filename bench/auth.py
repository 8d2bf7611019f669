"""Client authentication for the benchmark: the one place to adjust when `/token` changes.

Before the gateway starts, `prepare_client` adds a benchmark client to the
run's configuration file through the gateway's own API (`gateway.clients`),
with a rate limit no benchmark reaches: the point is to measure the request
path, not to be refused by it. After start, `bearer_headers` asks `POST
/token` for a token (OAuth2 client credentials); a 404 there means the
gateway has no authentication, and no header is sent.
"""

from __future__ import annotations

import base64
import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

CLIENT_ID = "bench"
# What the benchmark calls; no field group, so the response filter does its usual work.
GRANTS = ["population/citizen-verify"]
UNLIMITED_RATE = 1e9


@dataclass(frozen=True, slots=True)
class ClientCredentials:
    client_id: str
    secret: str


def prepare_client(config_file: Path) -> ClientCredentials | None:
    """Add the benchmark client to `config_file`; None when this gateway has no clients yet."""
    try:
        from gateway.security.clients import add_client
    except ImportError:
        return None
    secret = add_client(
        config_file,
        CLIENT_ID,
        GRANTS,
        title="benchmark harness",
        rate=UNLIMITED_RATE,
        burst=10**9,
    )
    return ClientCredentials(CLIENT_ID, secret)


def bearer_headers(base_url: str, credentials: ClientCredentials | None) -> dict[str, str]:
    """`Authorization: Bearer ...` for the next run; empty when the gateway has no `/token`."""
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if credentials is not None:
        pair = f"{credentials.client_id}:{credentials.secret}".encode()
        headers["Authorization"] = "Basic " + base64.b64encode(pair).decode()
    request = urllib.request.Request(  # noqa: S310 (our own gateway on 127.0.0.1)
        base_url + "/token", data=b"grant_type=client_credentials", method="POST", headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as resp:  # noqa: S310
            token = json.loads(resp.read())["access_token"]
    except urllib.error.HTTPError as exc:
        if exc.code in (404, 405):
            return {}  # no authentication in this gateway (yet)
        raise RuntimeError(f"POST /token answered {exc.code}: {exc.read()[:300]!r}") from None
    return {"Authorization": f"Bearer {token}"}
