"""The civil-status adapter end to end: gateway, bus, worker, signed calls to its mock."""

from __future__ import annotations

from typing import Any

import pytest

from gateway.cli.examples import example_bodies
from mocks.data import Dataset
from tests.support.stack import Stack

PATH = "/v1/civil-status/birth-registration-lookup"


@pytest.fixture
def example(dataset: Dataset) -> dict[str, Any]:
    """The banner's call: the population example's own birth registration."""
    return dict(example_bodies(dataset.examples())["civil-status/birth-registration-lookup"])


async def test_the_example_finds_the_registration_with_its_parents(
    stack: Stack, example: dict[str, Any], dataset: Dataset
) -> None:
    """The banner's call (derived from the data set) finds the population example's birth."""
    resp = await stack.post(PATH, example)
    assert resp.status == 200, await resp.text()
    registration = (await resp.json())["registration"]
    assert registration["certificate_number"] == example["certificate_number"]
    population = dataset.examples()["population"]
    assert registration["child"]["personal_id"] == population["SoDinhDanh"]
    assert registration["father"]["full_name"]
    assert registration["mother"]["full_name"]


async def test_a_certificate_not_held_by_the_named_child_is_not_found(
    stack: Stack, example: dict[str, Any]
) -> None:
    resp = await stack.post(PATH, example | {"child_full_name": "Trần Văn Khác"})
    assert resp.status == 404
    assert (await resp.json())["type"].endswith("record-not-found")


async def test_a_malformed_certificate_number_is_refused_before_the_bus(
    stack: Stack, example: dict[str, Any]
) -> None:
    resp = await stack.post(PATH, example | {"certificate_number": "6232-2001"})
    assert resp.status == 422
    assert await stack.central_calls("civil-status") == 0
