"""Names, dates of birth and secrets are masked in log text and in error documents."""

from __future__ import annotations

import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from adapters.logs import MASK, mask_personal_data, mask_text
from gateway.http.masking import mask_problem_documents
from gateway.problems import problem_response
from schemas.problems import Problem, ProblemType


@pytest.mark.parametrize(
    "text",
    [
        "citizen Nguyễn Văn An not found",
        "citizen Trần Thị Thu Hương not found",
        "citizen Nguyen Van An not found",
        "citizen Đặng Đức Đạt not found",
        "born 1990-05-17",
        "born 17/05/1990",
        "born 19900517",
    ],
)
def test_names_and_dates_are_masked_in_text(text: str) -> None:
    masked = mask_text(text)
    assert MASK in masked
    for word in ("Văn", "Van", "Thu", "Đức", "1990"):
        assert word not in masked


@pytest.mark.parametrize(
    "text",
    [
        "request 5f1c0e9a-1234 took 250 ms",
        "published to lgsp.requests.population at 2026-01-05T08:00:00",
        "queue depth 120 of 100000",
    ],
)
def test_operational_text_is_kept(text: str) -> None:
    assert mask_text(text) == text


def test_personal_keys_of_the_population_schema_are_masked() -> None:
    event = mask_personal_data(
        None,
        "info",
        {
            "event": "x",
            "given_name": "An",
            "ethnicity": "01",
            "citizen": {"father": {"full_name": "X"}, "blood_group": "A"},
        },
    )
    assert event["given_name"] == MASK
    assert event["ethnicity"] == MASK
    assert event["citizen"] == {"father": MASK, "blood_group": MASK}


async def test_error_documents_leaving_the_gateway_are_masked() -> None:
    problem = Problem(
        type=ProblemType.RECORD_NOT_FOUND,
        title="No such record",
        status=404,
        detail="no citizen 031095001234 named Lê Thị Hoa born 1995-03-02",
        errors=[{"field": "x", "message": "Nguyễn Văn An is not valid"}],
    )
    response = problem_response(problem, "req-00000001")
    request = make_mocked_request("POST", "/v1/population/citizen-verify", app=web.Application())
    assert await mask_problem_documents(request, response, 0.0) is None
    body = response.text
    assert body is not None
    for canary in ("031095001234", "Lê Thị Hoa", "1995-03-02", "Nguyễn Văn An"):
        assert canary not in body
    assert orjson.loads(body)["status"] == 404
