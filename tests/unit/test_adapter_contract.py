"""Every registered adapter keeps the contract the gateway and the runtime rely on."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ConfigDict

from adapters.contract import check_adapter
from adapters.interface import Adapter, Context
from adapters.registry import Registry

REGISTRY = Registry.discover()


def test_the_built_in_adapters_are_registered() -> None:
    assert "population" in REGISTRY.names


@pytest.mark.parametrize("name", REGISTRY.names)
def test_adapter_keeps_the_contract(name: str) -> None:
    adapter = REGISTRY.adapter(name)
    assert adapter is not None
    assert check_adapter(adapter) == []


class Loose(BaseModel):  # accepts unknown fields: a contract violation
    value: str


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")
    value: str


def test_the_kit_names_each_broken_rule() -> None:
    bad: Adapter[None] = Adapter("Bad_Name", title="bad", connect=lambda _s, _c: None)

    @bad.operation("Do It", personal_data=True, field_groups={"g": ("nope",)}, example={"value": 1})
    async def handler(req: Loose, ctx: Context[None]) -> Strict:
        return Strict(value=req.value)

    problems = "\n".join(check_adapter(bad))
    expected_rules = ("kebab-case", "extra='forbid'", "docstring", "subject", "'nope'", "example")
    for expected in expected_rules:
        assert expected in problems


def test_handlers_must_be_annotated_with_models() -> None:
    adapter: Adapter[None] = Adapter("x", title="x", connect=lambda _s, _c: None)

    async def handler(req: dict, ctx: Context[None]) -> dict:  # type: ignore[type-arg]
        return req

    with pytest.raises(TypeError, match="annotate"):
        adapter.operation("op")(handler)  # type: ignore[type-var]
