"""Access rights deny by default, field groups are withheld, rates are limited per client."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from pydantic import BaseModel

from adapters.interface import Context, Operation
from gateway.problems import ProblemError
from gateway.security.ratelimit import RateLimiter
from gateway.security.rights import Rights, filter_fields
from schemas.security import RateLimit


class _In(BaseModel):
    personal_id: str


class _Out(BaseModel):
    matched: bool


async def _handler(_req: _In, _ctx: Context[Any]) -> _Out:
    return _Out(matched=True)


VERIFY: Operation[Any] = Operation(
    name="citizen-verify",
    request_model=_In,
    response_model=_Out,
    handler=_handler,
    personal_data=True,
    field_groups={
        "sensitive": ("citizen.ethnicity", "citizen.religion", "citizen.blood_group"),
        "family": ("citizen.father",),
    },
)


def test_nothing_is_allowed_without_a_grant() -> None:
    rights = Rights.parse([])
    assert not rights.allows("population", "citizen-verify")


def test_grants_are_per_operation_with_wildcards() -> None:
    rights = Rights.parse(["population/citizen-verify", "business/*"])
    assert rights.allows("population", "citizen-verify")
    assert not rights.allows("population", "residence-declaration")
    assert rights.allows("business", "enterprise-lookup")
    assert not rights.allows("insurance", "card-lookup")
    assert Rights.parse(["*/*"]).allows("insurance", "card-lookup")


def test_malformed_grants_are_refused() -> None:
    with pytest.raises(ValueError, match="adapter/operation"):
        Rights.parse(["population"])


def test_field_groups_not_granted_are_denied() -> None:
    plain = Rights.parse(["population/citizen-verify"])
    assert set(plain.denied_paths("population", VERIFY)) == {
        ("citizen", "ethnicity"),
        ("citizen", "religion"),
        ("citizen", "blood_group"),
        ("citizen", "father"),
    }
    sensitive = Rights.parse(["population/citizen-verify#sensitive"])
    assert sensitive.denied_paths("population", VERIFY) == (("citizen", "father"),)
    assert Rights.parse(["population/*#*"]).denied_paths("population", VERIFY) == ()


def test_filtering_removes_only_the_denied_fields() -> None:
    answer = {
        "matched": True,
        "citizen": {"full_name": "X", "ethnicity": "01", "religion": "00", "father": None},
    }
    denied = Rights.parse(["population/citizen-verify#family"]).denied_paths("population", VERIFY)
    filtered = orjson.loads(filter_fields(orjson.dumps(answer), denied))
    assert filtered == {"matched": True, "citizen": {"full_name": "X", "father": None}}


def test_filtering_walks_lists_and_tolerates_null() -> None:
    denied = (("citizen", "ethnicity"),)
    assert orjson.loads(filter_fields(b'{"citizen": null}', denied)) == {"citizen": None}
    listed = b'{"citizen": [{"ethnicity": "01", "id": 1}, {"id": 2}]}'
    assert orjson.loads(filter_fields(listed, denied)) == {"citizen": [{"id": 1}, {"id": 2}]}


def test_a_client_over_its_rate_is_429_while_another_proceeds() -> None:
    now = [100.0]
    limiter = RateLimiter(clock=lambda: now[0])
    slow = RateLimit(rate=1, burst=2)
    limiter.check("slow", slow)
    limiter.check("slow", slow)
    with pytest.raises(ProblemError) as caught:
        limiter.check("slow", slow)
    assert caught.value.problem.status == 429
    assert caught.value.headers["Retry-After"] == "1"
    for _ in range(50):
        limiter.check("other", RateLimit(rate=100, burst=100))
    now[0] += 1.0  # one token back after a second
    limiter.check("slow", slow)
