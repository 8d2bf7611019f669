"""The adapter contract kit: the checks every adapter, built-in or third-party, must pass.

Run it from any test suite::

    from adapters.contract import check_adapter
    def test_my_adapter_keeps_the_contract() -> None:
        assert check_adapter(my_adapter) == []

It returns the list of broken rules (empty when all hold), so a failure names
every problem at once. The rules are the ones the gateway and the runtime rely
on; each message says what to change.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo

from adapters.interface import Adapter, Operation

NAME_RE = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")


def _forbids_extra(model: type[BaseModel]) -> bool:
    return model.model_config.get("extra") == "forbid"


def _field_of(model: type[BaseModel], dotted: str) -> FieldInfo | None:
    """The field a dotted path names (through optional models and lists of models), or None."""
    current: Any = model
    found: FieldInfo | None = None
    for part in dotted.split("."):
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            return None
        found = fields[part]
        annotation = found.annotation
        # Optional[Model] -> Model, list[Model] -> Model
        members = getattr(annotation, "__args__", (annotation,))
        current = next((a for a in members if hasattr(a, "model_fields")), annotation)
    return found


def check_operation(adapter: Adapter[Any], op: Operation[Any]) -> list[str]:
    where = f"{adapter.name}/{op.name}"
    problems = []
    if not NAME_RE.fullmatch(op.name):
        problems.append(f"{where}: operation names are kebab-case (they are URL segments)")
    if not _forbids_extra(op.request_model):
        problems.append(f"{where}: the request model must reject unknown fields (extra='forbid')")
    if not op.summary:
        problems.append(f"{where}: give the handler a docstring; its first line is the summary")
    if op.personal_data and op.subject is None:
        problems.append(f"{where}: personal-data operations name their subject field (audit)")
    if op.subject is not None and op.subject not in op.request_model.model_fields:
        problems.append(f"{where}: subject {op.subject!r} is not a field of the request model")
    for group, paths in op.field_groups.items():
        for path in paths:
            info = _field_of(op.response_model, path)
            if info is None:
                problems.append(
                    f"{where}: field group {group!r} names {path!r}, not a field of the response"
                )
            elif info.is_required():
                # A client denied the group gets the answer without it: it must still validate.
                problems.append(f"{where}: field group {group!r}: give {path!r} a default")
    if op.match_result is not None and op.match_result not in op.response_model.model_fields:
        problems.append(f"{where}: match_result {op.match_result!r} is not a response field")
    for model in (op.request_model, op.response_model):
        try:
            model.model_json_schema()
        except Exception as exc:  # any failure here breaks OpenAPI and /v1/services
            problems.append(f"{where}: {model.__name__} has no JSON schema ({exc})")
    if op.example is not None:
        try:
            op.request_adapter.validate_json(json.dumps(op.example))
        except ValidationError as exc:  # the documented example must be one the gateway accepts
            problems.append(
                f"{where}: the example is not a valid request ({exc.error_count()} errors)"
            )
    if op.timeout is not None and not 0 < op.timeout <= 60:
        problems.append(f"{where}: an operation timeout is between 0 and 60 seconds")
    return problems


def check_adapter(adapter: Adapter[Any]) -> list[str]:
    problems = []
    if not NAME_RE.fullmatch(adapter.name):
        problems.append(f"{adapter.name}: adapter names are kebab-case (routing keys and URLs)")
    if not adapter.operations:
        problems.append(f"{adapter.name}: an adapter declares at least one operation")
    policy = adapter.retry
    if policy.attempts < 1 or policy.attempt_timeout <= 0:
        problems.append(f"{adapter.name}: the retry policy needs attempts >= 1 and a timeout")
    for op in adapter.operations.values():
        problems += check_operation(adapter, op)
    return problems
