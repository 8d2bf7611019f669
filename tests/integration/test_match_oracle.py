"""No oracle on personal data: an unknown ID and a wrong claim answer alike, and guessing stops.

The attack of issue 16: a client holding a personal ID and a name learns the
date of birth by trying dates (the ID gives away the year) and telling an
unknown ID (once a 404) from a wrong date (`mismatched_fields`). Here a client
without the `mismatch-detail` group cannot tell them apart (status, headers of
interest, body, timing class) and is throttled after a few failed matches on a
subject; every answer, the refusals included, has its audit record.
"""

from __future__ import annotations

import statistics
from datetime import date
from typing import Any

from mocks.data import Dataset
from mocks.settings import MockSettings
from tests.integration.security_support import bearer, clients
from tests.support.ledger import Ledger, audit_events
from tests.support.rabbit import Rabbit
from tests.support.stack import running_stack

VERIFY = "/v1/population/citizen-verify"
SEARCH = "/v1/insurance/code-search"
FAILURES = 5
PROBER = {"allow": ["population/citizen-verify", "insurance/code-search"]}
DETAILED = {"allow": ["population/citizen-verify#mismatch-detail"]}
# Synthetic and absent from the data set: 031 Hải Phòng, 1 = 1900s female, born 1999.
UNKNOWN = {"personal_id": "031199012345", "full_name": "Quách Thị Hoài Thương"}
UNKNOWN_BIRTH = "1999-03-14"


def _other_day(born: str) -> str:
    day = date.fromisoformat(born)
    return day.replace(day=2 if day.day == 1 else 1).isoformat()  # same year: the ID agrees


async def test_an_unknown_id_and_a_wrong_birth_date_look_alike_and_guessing_is_throttled(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    citizen: dict[str, Any],
) -> None:
    auth = {
        **clients(prober=PROBER, detailed=DETAILED),
        "match_throttle": {"failures": FAILURES, "window": 600},
    }
    ledger = Ledger("match-oracle", hang_after=15)
    async with running_stack(rabbit, mock_settings, generated, auth=auth) as stack:
        prober = bearer(stack.token("prober"))

        def verify(body: dict[str, Any], who: dict[str, str], n: int) -> Any:
            return ledger.call(stack.post(VERIFY, body, {**who, "X-Request-ID": f"oracle-{n:04d}"}))

        n = 0
        unknown: list[Any] = []
        wrong: list[Any] = []
        # Interleaved, so that both see the same machine: a guess on an unknown ID and one on
        # a known ID with a wrong date of birth, FAILURES times each.
        for _ in range(FAILURES):
            n += 1
            unknown.append(await verify({**UNKNOWN, "date_of_birth": UNKNOWN_BIRTH}, prober, n))
            n += 1
            wrong_birth = _other_day(citizen["date_of_birth"])
            wrong.append(await verify({**citizen, "date_of_birth": wrong_birth}, prober, n))
        for answer in unknown + wrong:
            assert answer is not None
            assert (answer.status, answer.body) == (200, {"matched": False, "citizen": None})
            assert answer.headers["Content-Type"].startswith("application/json")
        unknown_s = statistics.median(a.seconds for a in unknown)
        wrong_s = statistics.median(a.seconds for a in wrong)
        # The same timing class: both are one central round trip (no early 404 either way).
        assert abs(unknown_s - wrong_s) < 0.1, (unknown_s, wrong_s)

        # The next guess on either subject is refused before it is published, even a right one.
        throttled = []
        for body in (
            {**UNKNOWN, "date_of_birth": UNKNOWN_BIRTH},
            {**citizen, "date_of_birth": _other_day(citizen["date_of_birth"])},
            citizen,
        ):
            n += 1
            answer = await verify(body, prober, n)
            assert answer is not None
            assert answer.status == 429, answer.body
            assert answer.body["type"].endswith("/match-throttled")
            assert int(answer.headers["Retry-After"]) > 500
            throttled.append(answer)
        centrals_before = await stack.central_calls("population")

        # Another client is not held back by the prober, and a client granted
        # `mismatch-detail` learns which claim failed (an unknown ID included).
        detailed = bearer(stack.token("detailed"))
        n += 1
        match = await verify(citizen, detailed, n)
        n += 1
        detail_unknown = await verify({**UNKNOWN, "date_of_birth": UNKNOWN_BIRTH}, detailed, n)
        n += 1
        detail_wrong = await verify(
            {**citizen, "date_of_birth": _other_day(citizen["date_of_birth"])}, detailed, n
        )
        assert match is not None
        assert (match.status, match.body["matched"]) == (200, True)
        assert match.body["citizen"]["personal_id"] == citizen["personal_id"]
        assert detail_unknown is not None
        assert detail_unknown.body["mismatched_fields"] == ["personal_id"]
        assert detail_wrong is not None
        assert detail_wrong.body["mismatched_fields"] == ["date_of_birth"]
        assert await stack.central_calls("population") == centrals_before + 3  # 429s: none

        metrics = await (await stack.client.get("/metrics")).text()
        events = await audit_events(rabbit, len(ledger.answers))

    alarm = 'lgsp_match_throttled_total{adapter="population",operation="citizen-verify"} 3.0'
    assert alarm in metrics
    for identifier in (UNKNOWN["personal_id"], citizen["personal_id"]):
        assert identifier not in metrics
    audited = {e["request_id"]: e["status"] for e in events}
    answered = {f"oracle-{i + 1:04d}": a.status for i, a in enumerate(ledger.answers)}
    ledger.report(
        audit_records=len(events),
        answered=len(answered),
        audit_status_mismatches=sum(audited.get(k) != v for k, v in answered.items()),
        median_ms_unknown=round(unknown_s * 1000, 1),
        median_ms_wrong=round(wrong_s * 1000, 1),
    )
    assert len(events) == len(answered)
    assert audited == answered
    assert ledger.hung == 0
    assert ledger.past_deadline == 0
    assert ledger.statuses == {200: 2 * FAILURES + 3, 429: 3}


async def test_code_search_withholds_birth_dates_and_ids_and_empty_searches_are_throttled(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    dataset: Dataset,
) -> None:
    """A search by name and birth year gives codes, names, years and sexes, never full birth
    dates, personal IDs or birth places without the `identity` group; empty searches on one
    name count as failed matches."""
    auth = {**clients(prober=PROBER), "match_throttle": {"failures": 3, "window": 600}}
    ledger = Ledger("code-search-oracle")
    async with running_stack(rabbit, mock_settings, generated, auth=auth) as stack:
        prober = bearer(stack.token("prober"))
        everything = bearer(stack.token())
        # A person of the data set: ask the full-rights client, then the prober by year only.
        found = await ledger.call(
            stack.post(
                "/v1/insurance/participant-lookup",
                {"social_insurance_code": dataset.examples()["insurance"]["maSoBhxh"]},
                everything,
            )
        )
        assert found is not None
        assert found.status == 200
        person = found.body["participant"]
        by_year = {"full_name": person["full_name"], "date_of_birth": str(person["birth_year"])}
        full = await ledger.call(stack.post(SEARCH, by_year, everything))
        partial = await ledger.call(stack.post(SEARCH, by_year, prober))
        assert full is not None
        assert partial is not None
        assert full.status == partial.status == 200
        assert len(full.body["matches"]) == len(partial.body["matches"]) >= 1
        assert any("personal_id" in m for m in full.body["matches"])
        for match in partial.body["matches"]:
            assert {"date_of_birth", "birth_month", "personal_id"}.isdisjoint(match)
            assert {"social_insurance_code", "full_name", "birth_year"} <= set(match)

        nobody = {"full_name": "Quách Thị Hoài Thương", "date_of_birth": "1900"}
        statuses = []
        for _ in range(4):
            answer = await ledger.call(stack.post(SEARCH, nobody, prober))
            assert answer is not None
            statuses.append(answer.status)
        events = await audit_events(rabbit, len(ledger.answers))
    ledger.report(audit_records=len(events), answered=len(ledger.answers))
    assert statuses == [200, 200, 200, 429]
    assert len(events) == len(ledger.answers)
    assert ledger.hung == 0
