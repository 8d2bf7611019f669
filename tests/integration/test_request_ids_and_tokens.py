"""Request ids shaped like personal IDs are replaced; /token guessing is throttled; tokens
with a lifetime beyond the configured maximum are refused; LGSP-Timeout has a lower bound."""

from __future__ import annotations

import re
import secrets
import time
from typing import Any

import jwt

from gateway.security.authentication import AUTHENTICATOR
from gateway.security.clients import hash_secret
from mocks.settings import MockSettings
from tests.integration.security_support import bearer, clients
from tests.support.ledger import Ledger, audit_events
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, Stack, running_stack

VERIFY = "/v1/population/citizen-verify"
SECRET = "s3cret-" + "x" * 24
GENERATED = re.compile(r"[0-9a-f]{32}")
PERSONAL_SHAPED = [
    "031199012345",  # personal ID (12 digits)
    "req-031199012345",
    "x031199012345y",  # no word boundary needed
    "123456789-trace",  # legacy ID card (9)
    "ma-3112345678",  # social-insurance code (10)
    "mst:0100109106-001",  # tax code of a branch
    "the-card-HS4310123456789",  # health-insurance card code
]


async def test_request_ids_shaped_like_personal_ids_are_replaced(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    ledger = Ledger("request-ids")
    for supplied in PERSONAL_SHAPED:
        answer = await ledger.call(stack.post(VERIFY, citizen, {"X-Request-ID": supplied}))
        assert answer is not None
        assert answer.status == 200
        assert GENERATED.fullmatch(answer.request_id), (supplied, answer.request_id)
    ordinary = "case-2026-0042.retry:1"
    answer = await ledger.call(stack.post(VERIFY, citizen, {"X-Request-ID": ordinary}))
    assert answer is not None
    assert answer.request_id == ordinary
    ledger.report(replaced=len(PERSONAL_SHAPED), echoed=1)
    assert ledger.hung == 0


async def test_lgsp_timeout_below_the_lower_bound_is_400(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    before = await stack.central_calls("population")
    for value in ("0.0000001", "1e-9", "0.049", "nan", "-1", "61"):
        response = await stack.post(VERIFY, citizen, {"LGSP-Timeout": value})
        assert response.status == 400, value
        assert "at least 0.05" in (await response.json())["detail"]
    assert await stack.central_calls("population") == before
    response = await stack.post(VERIFY, citizen, {"LGSP-Timeout": "5"})
    assert response.status == 200


async def test_a_validly_signed_token_with_a_ten_year_lifetime_is_refused(
    stack: Stack, citizen: dict[str, Any]
) -> None:
    service = stack.app[AUTHENTICATOR].tokens
    kid, key = service.keys.signing_key()
    now = int(time.time())

    def signed(lifetime: int) -> str:
        claims = {
            "iss": service.settings.issuer,
            "aud": service.settings.audience,
            "sub": "tests",
            "client_id": "tests",
            "iat": now,
            "nbf": now,
            "exp": now + lifetime,
            "jti": secrets.token_hex(8),
        }
        return jwt.encode(claims, key, algorithm="EdDSA", headers={"kid": kid, "typ": "at+jwt"})

    ten_years = await stack.client.post(
        VERIFY, json=citizen, headers={**bearer(signed(10 * 365 * 86400)), **PURPOSE}
    )
    assert ten_years.status == 401
    just_over = await stack.client.post(
        VERIFY,
        json=citizen,
        headers={**bearer(signed(service.settings.token_ttl + 60)), **PURPOSE},
    )
    assert just_over.status == 401
    usual = await stack.client.post(
        VERIFY, json=citizen, headers={**bearer(signed(service.settings.token_ttl)), **PURPOSE}
    )
    assert usual.status == 200


async def test_failed_client_authentications_are_throttled_per_client_and_per_address(
    rabbit: Rabbit, mock_settings: MockSettings, generated: dict[str, Any]
) -> None:
    per_client, per_address = 3, 7
    auth = {
        **clients(alpha={"allow": ["*/*"], "secret_hash": hash_secret(SECRET)}),
        "token_throttle": {
            "failures_per_client": per_client,
            "failures_per_address": per_address,
            "window": 60,
        },
    }
    ledger = Ledger("token-throttle")
    async with running_stack(rabbit, mock_settings, generated, auth=auth) as stack:

        def token(client_id: str, secret: str) -> Any:
            form = {"grant_type": "client_credentials", "client_id": client_id}
            return ledger.call(stack.client.post("/token", data={**form, "client_secret": secret}))

        # A known id and an unknown one are refused alike, then throttled alike.
        outcomes: dict[str, list[Any]] = {}
        for client_id in ("alpha", "no-such-client"):
            outcomes[client_id] = [await token(client_id, "wrong") for _ in range(per_client + 1)]
        for answers in outcomes.values():
            assert [a.status for a in answers] == [401] * per_client + [429]
            throttled = answers[-1]
            assert throttled.body["type"].endswith("/rate-limited")
            assert int(throttled.headers["Retry-After"]) >= 1
        bodies = [
            {k: v for k, v in answers[-1].body.items() if k != "request_id"}
            for answers in outcomes.values()
        ]
        assert bodies[0] == bodies[1]
        # The right secret does not get through the throttle either.
        assert (await token("alpha", SECRET)).status == 429

        # Per address: one more failure on a fresh id reaches the address's allowance.
        assert (await token("fresh-id", "wrong")).status == 401
        assert (await token("other-id", SECRET)).status == 429  # the address is throttled
        metrics = await (await stack.client.get("/metrics")).text()
        events = await audit_events(rabbit, len(ledger.answers))
    assert 'lgsp_token_throttled_total{scope="client"} 3.0' in metrics
    assert 'lgsp_token_throttled_total{scope="address"} 1.0' in metrics
    ledger.report(audit_records=len(events), answered=len(ledger.answers))
    assert len(events) == len(ledger.answers)
    assert sorted(e["status"] for e in events) == sorted(a.status for a in ledger.answers)
    assert ledger.hung == 0
