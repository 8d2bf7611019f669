"""The gateway answers as its OpenAPI document says, under schemathesis, on the live stack.

Schemathesis reads the running gateway's `/openapi.json` (its request examples
swapped for records of the test data set) and sends generated requests to
every operation of the live stack (real broker, workers and mock central
systems): valid bodies and headers, and invalid ones (wrong types, missing
fields, unsupported content types). Its checks: no 5xx, every status and
content type declared, every body and declared header valid against its
schema. The bar is zero failures; the run is bounded (examples per operation,
a time-out per request and for the whole run): 10 to 20 s on an idle 2-core
machine.
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from openapi_spec_validator import validate

from gateway.cli.examples import example_bodies
from mocks.data import Dataset
from mocks.settings import MockSettings
from tests.integration.security_support import audit_writer
from tests.support.rabbit import Rabbit
from tests.support.stack import TEST_CLIENT, Stack, running_stack

pytestmark = pytest.mark.integration

CHECKS = ",".join(
    (
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_schema_conformance",
        "response_headers_conformance",
    )
)
MAX_EXAMPLES = 30
SEED = 20261201
# A caller's own LGSP-Timeout of a few milliseconds gets a correct 504; the run sends a real one.
TIMEOUT_SECONDS = "10"
ALL_RIGHTS = {"allow": ["*/*#*"], "rate_limit": {"rate": 1e4, "burst": 10000}}
# Every operation, no field group: the answers arrive with those fields removed.
NO_GROUPS_CLIENT = "conformance"
NO_GROUPS = {"allow": ["*/*"], "rate_limit": {"rate": 1e4, "burst": 10000}}


async def test_openapi_document_served_by_the_gateway_is_valid_openapi_3_1(stack: Stack) -> None:
    response = await stack.client.get("/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    document = await response.json()
    assert document["openapi"] == "3.1.0"
    validate(document)  # raises on an invalid document


def with_data_set_examples(document: dict[str, Any], dataset: Dataset) -> dict[str, Any]:
    """The served document with request examples that match the test data set.

    The contract's own examples are synthetic (no record has them: a 404); these make the
    examples phase reach the central systems and get 200s to check against the schemas.
    """
    bodies = example_bodies(dataset.examples())
    for path, item in document["paths"].items():
        body = bodies.get(path.removeprefix("/v1/"))
        if body is not None:
            item["post"]["requestBody"]["content"]["application/json"]["example"] = body
    return document


async def run_schemathesis(stack: Stack, schema: Path, report: Path) -> tuple[int, str]:
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("st")),
        "run",
        str(schema),
        "--url",
        str(stack.client.make_url("")).rstrip("/"),
        "--checks",
        CHECKS,
        "--max-examples",
        str(MAX_EXAMPLES),
        "--seed",
        str(SEED),
        "--phases",
        "examples,coverage,fuzzing",
        "--request-timeout",
        "15",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--header",
        f"Authorization: Bearer {stack.token(NO_GROUPS_CLIENT)}",
        "--header",
        f"LGSP-Timeout: {TIMEOUT_SECONDS}",
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=schema.parent,  # schemathesis keeps a cache in its working directory
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=240)
    assert process.returncode is not None
    return process.returncode, output.decode(errors="replace")


async def test_schemathesis_finds_no_failure_on_any_operation_of_the_live_stack(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    dataset: Dataset,
    tmp_path: Path,
) -> None:
    """Every operation, valid and invalid input, as a client without any field group."""
    auth = {"clients": {TEST_CLIENT: ALL_RIGHTS, NO_GROUPS_CLIENT: NO_GROUPS}}
    # The whole stack, the audit writer too: subject access reads the store it writes.
    store = tmp_path / "audit.sqlite3"
    async with (
        running_stack(
            rabbit, mock_settings, generated, auth=auth, audit={"store": str(store)}
        ) as stack,
        audit_writer(stack.settings, store),
    ):
        document = await (await stack.client.get("/openapi.json")).json()
        schema = tmp_path / "openapi.json"
        schema.write_text(json.dumps(with_data_set_examples(document, dataset)))
        code, output = await run_schemathesis(stack, schema, tmp_path / "report.json")
    report = json.loads((tmp_path / "report.json").read_text())
    assert code == 0, output[-6000:]
    assert report["failures"] == [], output[-6000:]
    assert report["errors"] == [], output[-6000:]
    operations = sum(len(item) for item in document["paths"].values())
    assert report["operations"]["tested"] == report["operations"]["total"] == operations
    adapter_operations = len([p for p in document["paths"] if p.count("/") == 3])
    assert report["test_cases"]["generated"] >= adapter_operations * MAX_EXAMPLES
    # Every operation of an adapter got at least one 200 to check against its response schema.
    assert not [p for p in report["warnings"]["missing_test_data"] if "/v1/" in p], report
