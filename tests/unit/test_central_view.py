"""The gateway's view of the central systems' breakers, from the replies it forwarded."""

from __future__ import annotations

import orjson
from aiohttp import web

from gateway.ops.breakers import CentralView
from schemas.problems import PROBLEM_CONTENT_TYPE, ProblemType


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


def problem(status: int, problem_type: str, retry_after: str | None = None) -> web.Response:
    headers = {"Retry-After": retry_after} if retry_after else None
    body = orjson.dumps({"type": problem_type, "title": "t", "status": status})
    return web.Response(
        status=status, body=body, content_type=PROBLEM_CONTENT_TYPE, headers=headers
    )


def test_a_refusal_shows_open_until_its_retry_after_then_half_open_then_closed() -> None:
    clock = Clock()
    view = CentralView(clock)
    assert view.state("population") == "unknown"
    view.saw_reply("population", problem(503, ProblemType.CENTRAL_UNAVAILABLE, "5"))
    assert view.state("population") == "open"
    clock.now += 5
    assert view.state("population") == "half-open"
    view.saw_reply("population", web.Response(status=200, body=b"{}"))
    assert view.state("population") == "closed"
    (entry,) = view.snapshot(["population"])
    assert (entry["state"], entry["refusals"]) == ("closed", 1)


def test_other_failures_are_not_taken_for_a_refusal() -> None:
    view = CentralView(Clock())
    view.saw_reply("business", problem(503, ProblemType.UNAVAILABLE, "2"))  # the bus, not a breaker
    view.saw_reply("insurance", problem(502, ProblemType.CENTRAL_FAILED))
    assert view.state("business") == "closed"
    assert view.state("insurance") == "closed"
    assert [e["state"] for e in view.snapshot(["business", "population"])] == [
        "closed",
        "unknown",
    ]
