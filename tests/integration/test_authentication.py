"""Tokens on the real stack: `POST /token`, and every invalid token refused the same way."""

from __future__ import annotations

import base64
import os
import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from gateway.cli.main import main
from gateway.config_file import to_toml
from gateway.security.authentication import AUTHENTICATOR
from gateway.security.clients import hash_secret
from mocks.settings import MockSettings
from tests.integration.security_support import EVERYTHING, bearer, clients, tap
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, running_stack
from tests.unit.test_tokens import forgeries

VERIFY = "/v1/population/citizen-verify"
SECRET = "a-secret-made-by-the-test-" + base64.urlsafe_b64encode(os.urandom(12)).decode()


def verifier(**changes: Any) -> dict[str, Any]:
    return {"allow": ["population/citizen-verify"], "secret_hash": hash_secret(SECRET), **changes}


def uniform(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "request_id"}


async def test_every_invalid_token_gets_one_uniform_401_and_nothing_is_published(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
) -> None:
    auth = clients(gone=verifier(revoked=True))
    async with (
        running_stack(rabbit, mock_settings, generated, auth=auth) as stack,
        tap(rabbit) as t,
    ):
        service = stack.app[AUTHENTICATOR].tokens
        cases: dict[str, dict[str, str]] = {
            name: bearer(token) for name, token in forgeries(service).items()
        }
        cases |= {
            "no Authorization header": {},
            "empty bearer": {"Authorization": "Bearer "},
            "another scheme": {"Authorization": "Basic " + base64.b64encode(b"a:b").decode()},
            "a revoked client": bearer(stack.token("gone")),
            "a client that does not exist": bearer(stack.token("nobody")),
        }
        bodies = {}
        for name, headers in cases.items():
            for method, path in (("POST", VERIFY), ("GET", "/v1/services")):
                response = await stack.client.request(
                    method, path, json=citizen, headers={**PURPOSE, **headers}
                )
                assert response.status == 401, name
                assert response.content_type == "application/problem+json"
                challenge = response.headers["WWW-Authenticate"]
                assert challenge.startswith('Bearer realm="lgsp"'), name
                bodies[(name, path)] = uniform(await response.json())
        assert len({str(sorted(b.items())) for b in bodies.values()}) == 1, bodies
        assert await t.count() == 0  # nothing reached the bus
        ok = await stack.post(VERIFY, citizen)
        assert ok.status == 200
        assert await t.count() == 1  # the control: a valid call is published


async def test_client_credentials_grant_issues_a_working_token(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any]
) -> None:
    auth = clients(clinic=verifier(), gone=verifier(revoked=True))
    async with running_stack(rabbit, mock_settings, generated, auth=auth) as stack:
        basic = base64.b64encode(f"clinic:{SECRET}".encode()).decode()
        response = await stack.client.post(
            "/token",
            data={"grant_type": "client_credentials"},
            headers={"Authorization": f"Basic {basic}"},
        )
        assert response.status == 200
        assert response.headers["Cache-Control"] == "no-store"
        grant = await response.json()
        assert grant["token_type"] == "Bearer"
        assert grant["expires_in"] == stack.settings.auth.token_ttl
        token = grant["access_token"]
        header = jwt.get_unverified_header(token)
        assert header["alg"] == "EdDSA"
        assert header["kid"] == stack.app[AUTHENTICATOR].tokens.keys.signing_key()[0]
        claims = jwt.decode(token, options={"verify_signature": False})
        assert claims["iss"] == stack.settings.auth.issuer
        assert claims["aud"] == stack.settings.auth.audience
        assert claims["client_id"] == claims["sub"] == "clinic"
        assert claims["exp"] - claims["iat"] == stack.settings.auth.token_ttl
        services = await stack.client.get("/v1/services", headers=bearer(token))
        assert services.status == 200

        form = await stack.client.post(
            "/token",
            data={
                "grant_type": "client_credentials",
                "client_id": "clinic",
                "client_secret": SECRET,
            },
        )
        assert form.status == 200

        refused = []
        for client_id, secret in (("clinic", SECRET + "x"), ("nobody", SECRET), ("gone", SECRET)):
            bad = await stack.client.post(
                "/token",
                data={
                    "grant_type": "client_credentials",
                    "client_id": client_id,
                    "client_secret": secret,
                },
            )
            assert bad.status == 401
            assert bad.headers["WWW-Authenticate"] == 'Basic realm="lgsp"'
            refused.append(uniform(await bad.json()))
        assert refused[0]["error"] == "invalid_client"
        assert refused[0] == refused[1] == refused[2]

        wrong_grant = await stack.client.post(
            "/token", data={"grant_type": "password", "client_id": "clinic"}
        )
        assert wrong_grant.status == 400
        assert (await wrong_grant.json())["error"] == "unsupported_grant_type"
        as_json = await stack.client.post("/token", json={"grant_type": "client_credentials"})
        assert as_json.status == 400
        assert (await as_json.json())["error"] == "invalid_request"


async def test_revoking_a_client_refuses_its_tokens_on_a_running_gateway(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    config = tmp_path / "lgsp.toml"
    section = {"reload_interval": 0, "clients": {"tests": EVERYTHING, "clinic": verifier()}}
    config.write_text(to_toml({"auth": section}))
    monkeypatch.setenv("LGSP_CONFIG", str(config))
    monkeypatch.setattr("gateway.cli.main.configure_logging", lambda *_: None)
    async with running_stack(rabbit, mock_settings, generated, auth=section) as stack:
        token = stack.token("clinic")
        assert (await stack.client.get("/v1/services", headers=bearer(token))).status == 200
        assert main(["clients", "revoke", "clinic"]) == 0
        os.utime(config, (time.time() + 1, time.time() + 1))  # newer, whatever the clock
        assert (await stack.client.get("/v1/services", headers=bearer(token))).status == 401
