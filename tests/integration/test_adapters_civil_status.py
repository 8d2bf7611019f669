"""The civil-status adapter end to end: gateway, bus, worker, signed calls to its mock."""

from __future__ import annotations

from adapters.civil_status import adapter
from tests.support.stack import Stack

PATH = "/v1/civil-status/birth-registration-lookup"
EXAMPLE = adapter.operations["birth-registration-lookup"].example or {}


async def test_the_example_finds_the_registration_with_its_parents(stack: Stack) -> None:
    """The declared example (the banner's call) matches the test data set, as the default one."""
    resp = await stack.post(PATH, EXAMPLE)
    assert resp.status == 200, await resp.text()
    registration = (await resp.json())["registration"]
    assert registration["certificate_number"] == EXAMPLE["certificate_number"]
    assert registration["child"]["personal_id"] == "031301874276"
    assert registration["father"]["full_name"]
    assert registration["mother"]["full_name"]


async def test_a_certificate_not_held_by_the_named_child_is_not_found(stack: Stack) -> None:
    resp = await stack.post(PATH, EXAMPLE | {"child_full_name": "Trần Văn Khác"})
    assert resp.status == 404
    assert (await resp.json())["type"].endswith("record-not-found")


async def test_a_malformed_certificate_number_is_refused_before_the_bus(stack: Stack) -> None:
    resp = await stack.post(PATH, EXAMPLE | {"certificate_number": "6232-2001"})
    assert resp.status == 422
    assert await stack.central_calls("civil-status") == 0
