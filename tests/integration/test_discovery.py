"""What a stock OAuth2 client and a newcomer find without reading our docs, all public.

RFC 8414 metadata points at the token endpoint and the key set; the key set
verifies the gateway's tokens, rotated keys included; the OpenAPI document
is public and carries no record of the data set; token errors name their
request.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import aiohttp
import jwt
import pytest

from gateway.security.authentication import AUTHENTICATOR
from gateway.security.clients import hash_secret
from gateway.security.keys import KeyRing
from mocks.data import Dataset
from mocks.settings import MockSettings
from tests.support.rabbit import Rabbit
from tests.support.stack import Stack, running_stack

pytestmark = pytest.mark.integration

SECRET = "a-secret-for-the-discovery-test"


def verify_with(key_set: dict[str, Any], token: str, stack: Stack) -> dict[str, Any]:
    kid = jwt.get_unverified_header(token)["kid"]
    (entry,) = [k for k in key_set["keys"] if k["kid"] == kid]
    claims: dict[str, Any] = jwt.decode(
        token,
        jwt.PyJWK(entry).key,
        algorithms=["EdDSA"],
        audience=stack.settings.auth.audience,
        issuer=stack.settings.auth.issuer,
    )
    return claims


async def test_a_stock_client_finds_the_token_endpoint_and_verifies_tokens_with_the_key_set(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any]
) -> None:
    auth = {"clients": {"school": {"allow": ["*/*"], "secret_hash": hash_secret(SECRET)}}}
    async with (
        running_stack(rabbit, mock_settings, generated, workers=False, auth=auth) as stack,
        aiohttp.ClientSession() as http,
    ):
        base = str(stack.client.make_url("")).rstrip("/")
        async with http.get(f"{base}/.well-known/oauth-authorization-server") as r:
            assert r.status == 200
            assert r.content_type == "application/json"
            metadata = await r.json()
        assert metadata["issuer"] == stack.settings.auth.issuer
        assert metadata["token_endpoint"] == f"{base}/token"
        assert metadata["grant_types_supported"] == ["client_credentials"]
        assert "client_secret_basic" in metadata["token_endpoint_auth_methods_supported"]

        # Only what the metadata said: the token endpoint, then the key set.
        form = {"grant_type": "client_credentials"}
        basic = {"Authorization": "Basic " + base64.b64encode(f"school:{SECRET}".encode()).decode()}
        async with http.post(metadata["token_endpoint"], data=form, headers=basic) as r:
            assert r.status == 200
            first = (await r.json())["access_token"]
        async with http.get(metadata["jwks_uri"]) as r:
            assert r.status == 200
            keys = await r.json()
        (only,) = keys["keys"]
        assert {k: only[k] for k in ("kty", "crv", "alg", "use")} == {
            "kty": "OKP",
            "crv": "Ed25519",
            "alg": "EdDSA",
            "use": "sig",
        }
        assert "d" not in only  # the public half only
        assert verify_with(keys, first, stack)["sub"] == "school"

        # A rotation: the new key signs, the old one still verifies tokens in their lifetime.
        ring = stack.app[AUTHENTICATOR].tokens.keys
        assert isinstance(ring, KeyRing)
        new_kid = ring.rotate(token_ttl=stack.settings.auth.token_ttl)
        async with http.post(metadata["token_endpoint"], data=form, headers=basic) as r:
            second = (await r.json())["access_token"]
        async with http.get(metadata["jwks_uri"]) as r:
            rotated = await r.json()
        assert rotated["keys"][0]["kid"] == new_kid  # the signing key leads
        assert {k["kid"] for k in rotated["keys"]} == {new_kid, only["kid"]}
        assert jwt.get_unverified_header(second)["kid"] == new_kid
        assert verify_with(rotated, first, stack)["sub"] == "school"
        assert verify_with(rotated, second, stack)["sub"] == "school"


async def test_token_endpoint_errors_carry_the_request_id(stack: Stack) -> None:
    named = await stack.client.post(
        "/token",
        data={"grant_type": "password"},
        headers={"X-Request-ID": "one-stop-req-000123"},
    )
    assert named.status == 400
    body = await named.json()
    assert body["error"] == "unsupported_grant_type"
    assert body["request_id"] == named.headers["X-Request-ID"] == "one-stop-req-000123"
    unnamed = await stack.client.post(
        "/token", data={"grant_type": "client_credentials", "client_id": "x", "client_secret": "y"}
    )
    assert unnamed.status == 401
    generated_id = (await unnamed.json())["request_id"]
    assert generated_id
    assert generated_id == unnamed.headers["X-Request-ID"]


async def test_the_contract_is_public_and_holds_no_record_of_the_data_set(
    stack: Stack, dataset: Dataset
) -> None:
    response = await stack.client.get("/openapi.json")  # no token
    assert response.status == 200
    text = await response.text()
    document = json.loads(text)
    installed = {f"/v1/{a.name}/{o}" for a in stack.registry for o in a.operations}
    assert {p for p in document["paths"] if p.count("/") == 3} == installed
    values = [v for system in dataset.examples().values() for v in system.values()]
    identifiers = [v for v in values if isinstance(v, str) and len(v) >= 8]
    assert identifiers  # the control: the data set has identifiers and names to look for
    assert [v for v in identifiers if v in text] == []
    docs = await stack.client.get("/docs")
    assert docs.status == 200
    assert docs.content_type == "text/html"
    asset = await stack.client.get("/docs/assets/swagger-ui-bundle.js")
    assert asset.status == 200
