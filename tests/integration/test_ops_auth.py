"""Operator endpoints take the operator credential only: client tokens never pass."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from tests.support.ops_stack import ops_stack
from tests.support.rabbit import Rabbit

pytestmark = pytest.mark.integration

READS = ["/ops/queues", "/ops/services", "/ops/dlq", "/ops/dlq/some-id", "/ops/maintenance"]
ACTIONS = [
    ("POST", "/ops/dlq/replay", {"all": True}),
    ("POST", "/ops/dlq/purge", {"all": True, "confirm": True}),
    ("PUT", "/ops/maintenance", {"maintenance": True}),
]


async def test_operator_endpoints_refuse_client_tokens_and_take_the_operator_token(
    rabbit: Rabbit, tmp_path: Path
) -> None:
    async with ops_stack(rabbit, tmp_path, workers=0) as stack:
        client_token = await stack.client_token()
        for credentials in ({}, {"Authorization": f"Bearer {client_token}"}):
            for path in READS:
                resp = await stack.client.get(path, headers=credentials)
                assert resp.status == 401, path
                assert resp.headers["WWW-Authenticate"].startswith("Bearer")
            for method, path, body in ACTIONS:
                resp = await stack.client.request(method, path, json=body, headers=credentials)
                assert resp.status == 401, path
        assert not stack.settings.ops.maintenance_file.exists()

        assert (await stack.client.get("/ops/queues", headers=stack.ops_headers)).status == 200
        basic = base64.b64encode(f"operator:{stack.ops_token}".encode()).decode()
        as_basic = await stack.client.get(
            "/ops/services", headers={"Authorization": f"Basic {basic}"}
        )
        assert as_basic.status == 200
        wrong = base64.b64encode(b"operator:guess").decode()
        refused = await stack.client.get(
            "/ops/services", headers={"Authorization": f"Basic {wrong}"}
        )
        assert refused.status == 401


async def test_dashboard_signs_in_once_and_its_cookie_only_reads(
    rabbit: Rabbit, tmp_path: Path
) -> None:
    async with ops_stack(rabbit, tmp_path, workers=0) as stack:
        page = await stack.client.get("/ops")
        assert page.status == 401
        assert "Operator token" in await page.text()
        assert page.headers["Content-Security-Policy"].startswith("default-src 'none'")

        bad = await stack.client.get("/ops", params={"token": "guess"}, allow_redirects=False)
        assert bad.status == 401
        assert "not valid" in await bad.text()

        signed_in = await stack.client.get(
            "/ops", params={"token": stack.ops_token}, allow_redirects=False
        )
        assert signed_in.status == 303
        assert signed_in.headers["Location"] == "/ops"
        cookie = signed_in.cookies["lgsp_ops"]
        assert cookie.value != stack.ops_token
        assert cookie["httponly"]
        assert cookie["samesite"] == "Strict"

        jar = {"Cookie": f"lgsp_ops={cookie.value}"}
        dashboard = await stack.client.get("/ops", headers=jar)
        assert dashboard.status == 200
        assert "<script src" not in await dashboard.text()  # self-contained
        assert (await stack.client.get("/ops/queues", headers=jar)).status == 200
        replay = await stack.client.post("/ops/dlq/replay", json={"all": True}, headers=jar)
        assert replay.status == 401  # the cookie never authorises a change

        form = await stack.client.post(
            "/ops/login", data={"token": stack.ops_token}, allow_redirects=False
        )
        assert form.status == 303
        assert "lgsp_ops" in form.cookies


async def test_without_an_operator_token_configured_nobody_is_an_operator(
    rabbit: Rabbit, tmp_path: Path
) -> None:
    async with ops_stack(rabbit, tmp_path, workers=0, token="") as stack:
        for credentials in ({}, {"Authorization": "Bearer "}, {"Authorization": "Basic Og=="}):
            assert (await stack.client.get("/ops/queues", headers=credentials)).status == 401
        assert (await stack.client.get("/ops", params={"token": ""})).status == 401
