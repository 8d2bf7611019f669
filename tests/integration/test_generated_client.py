"""A Python client generated from `/openapi.json` calls every operation of the live stack.

What a local system's developer does on day one: point `openapi-python-client`
at the gateway, import what it wrote, and call. Every operation is called
through the generated code (an answer parsed into the generated model), and
every operation that can fail is also made to fail once, the answer parsed
into the generated problem model.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import importlib
import inspect
import json
import sys
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from gateway.cli.examples import example_bodies
from gateway.security.clients import hash_secret
from mocks.data import Dataset
from mocks.settings import MockSettings
from schemas.problems import ProblemType
from tests.integration.security_support import audit_writer
from tests.support.rabbit import Rabbit
from tests.support.stack import PURPOSE, TEST_CLIENT, running_stack
from tests.support.waiting import wait_until

pytestmark = pytest.mark.integration

PACKAGE = "lgsp_generated_client"
SECRET = "a-secret-for-the-generated-client-test"
APP_CLIENT = "one-stop"
# No post-hooks: the generated code is imported as written (no formatter on PATH needed).
GENERATOR_CONFIG = "post_hooks: []\n"


async def generate(document: dict[str, Any], where: Path) -> Path:
    spec = where / "openapi.json"
    spec.write_text(json.dumps(document))
    config = where / "generator.yaml"
    config.write_text(GENERATOR_CONFIG)
    process = await asyncio.create_subprocess_exec(
        str(Path(sys.executable).with_name("openapi-python-client")),
        "generate",
        "--path",
        str(spec),
        "--meta",
        "none",
        "--config",
        str(config),
        "--output-path",
        str(where / PACKAGE),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), timeout=120)
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    # A schema the generator could not turn into code is a warning, not an error: refuse it.
    assert "Warning" not in text, text
    assert "Unable" not in text, text
    return where


@pytest.fixture
def importable(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def _module_name(name: str) -> str:
    """The generated module name of a tag or operation id: `civil-status` -> `civil_status`."""
    return name.replace("-", "_")


def endpoint(operation: dict[str, Any]) -> ModuleType:
    """The generated module of an operation: api/<tag>/<operationId>.py."""
    return importlib.import_module(
        f"{PACKAGE}.api.{_module_name(operation['tags'][0])}.{_module_name(operation['operationId'])}"
    )


def header_kwargs(operation: dict[str, Any]) -> dict[str, str]:
    """The generated keyword arguments for the headers the operation declares."""
    names = {p["$ref"].rsplit("/", 1)[-1] for p in operation.get("parameters", ())}
    kwargs = {
        name.lower().replace("-", "_"): value
        for name, value in PURPOSE.items()
        if name.replace("LGSP-", "").replace("-", "") in names
    }
    if "IdempotencyKey" in names:
        kwargs["idempotency_key"] = "generated-client-0001"
    return kwargs


def body_model(module: ModuleType) -> Any:
    return inspect.signature(module.asyncio_detailed).parameters["body"].annotation


def same(given: Any, sent: Any) -> bool:
    """Equal JSON, a time written `Z` or `+00:00` alike (the generated models write `+00:00`)."""
    if isinstance(given, dict) and isinstance(sent, dict):
        return given.keys() == sent.keys() and all(same(given[k], sent[k]) for k in given)
    if isinstance(given, list) and isinstance(sent, list):
        return len(given) == len(sent) and all(same(a, b) for a, b in zip(given, sent, strict=True))
    if isinstance(given, str) and isinstance(sent, str) and given != sent:
        try:
            return datetime.fromisoformat(given) == datetime.fromisoformat(sent)
        except ValueError:
            return False
    return bool(given == sent)


def component_of(operation: dict[str, Any], status: str) -> str:
    answer = operation["responses"][status]
    ref = answer.get("$ref")
    if ref is not None:  # a shared error response: its schema is the problem document
        return "Problem"
    schema = next(iter(answer["content"].values()))["schema"]
    return str(schema["$ref"].rsplit("/", 1)[-1])


async def test_a_generated_python_client_calls_every_operation_and_parses_errors(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    dataset: Dataset,
    importable: Path,
) -> None:
    rights = {"rate_limit": {"rate": 1e4, "burst": 10000}}
    auth = {
        "clients": {
            TEST_CLIENT: {"allow": ["*/*#*"], **rights},
            APP_CLIENT: {"allow": ["*/*#*"], "secret_hash": hash_secret(SECRET), **rights},
        }
    }
    # Records of the test data set where it has them (a 200 with data); the declared example
    # otherwise (subject access answers for any person).
    bodies = example_bodies(dataset.examples())
    store = importable / "audit.sqlite3"  # the audit writer's, read by subject access
    async with (
        running_stack(
            rabbit, mock_settings, generated, auth=auth, audit={"store": str(store)}
        ) as stack,
        audit_writer(stack.settings, store),
        contextlib.AsyncExitStack() as clients,
    ):
        document = await (await stack.client.get("/openapi.json")).json()
        for adapter in stack.registry:
            for operation in adapter.operations.values():
                if operation.example is not None:
                    bodies.setdefault(f"{adapter.name}/{operation.name}", operation.example)
        await generate(document, importable)
        client_module = importlib.import_module(f"{PACKAGE}.client")
        base = str(stack.client.make_url("")).rstrip("/")
        # Each generated client holds an httpx connection pool: closed when the test ends.
        anonymous = await clients.enter_async_context(client_module.Client(base_url=base))
        basic = base64.b64encode(f"{APP_CLIENT}:{SECRET}".encode()).decode()
        token_client = await clients.enter_async_context(
            client_module.AuthenticatedClient(base_url=base, token=basic, prefix="Basic")
        )

        # The token endpoint first: the client's own credentials get the token for the rest.
        token_op = document["paths"]["/token"]["post"]
        token_module = endpoint(token_op)
        form = body_model(token_module).from_dict({"grant_type": "client_credentials"})
        granted = await token_module.asyncio_detailed(client=token_client, body=form)
        assert granted.status_code == 200, granted.content
        assert type(granted.parsed).__name__ == "TokenResponse"
        wrong = base64.b64encode(f"{APP_CLIENT}:wrong".encode()).decode()
        refused_client = await clients.enter_async_context(
            client_module.AuthenticatedClient(base_url=base, token=wrong, prefix="Basic")
        )
        refused = await token_module.asyncio_detailed(client=refused_client, body=form)
        assert refused.status_code == 401
        assert type(refused.parsed).__name__ == "TokenProblem"
        assert refused.parsed.error == "invalid_client"
        assert refused.parsed.request_id == refused.headers["X-Request-ID"]

        authed = await clients.enter_async_context(
            client_module.AuthenticatedClient(base_url=base, token=granted.parsed.access_token)
        )
        called: set[str] = {"POST /token"}
        failed: set[str] = {"POST /token"}
        for path, item in document["paths"].items():
            for method, operation in item.items():
                label = f"{method.upper()} {path}"
                if label in called:
                    continue
                module = endpoint(operation)
                kwargs: dict[str, Any] = header_kwargs(operation)
                if "requestBody" in operation:
                    kwargs["body"] = body_model(module).from_dict(bodies[path.removeprefix("/v1/")])
                secured = operation.get("security") != []
                answer = await module.asyncio_detailed(
                    client=authed if secured else anonymous, **kwargs
                )
                assert answer.status_code == 200, (label, answer.content)
                assert type(answer.parsed).__name__ == component_of(operation, "200"), label
                # Parsed in full: the generated model gives back the document it was given.
                assert same(answer.parsed.to_dict(), json.loads(answer.content)), label
                called.add(label)

                if path.startswith("/v1/") and "requestBody" in operation:
                    # A malformed purpose trail: the gateway's 422, parsed as the problem model.
                    bad = {**kwargs}
                    bad["lgsp_procedure_code"] = "not-a-code"
                    problem = await module.asyncio_detailed(client=authed, **bad)
                    assert problem.status_code == 422, (label, problem.content)
                    assert type(problem.parsed).__name__ == "Problem", label
                    assert problem.parsed.type_ == ProblemType.VALIDATION
                    assert problem.parsed.request_id == problem.headers["X-Request-ID"]
                    failed.add(label)
                elif secured:
                    problem = await module.asyncio_detailed(client=anonymous, **kwargs)
                    assert problem.status_code == 401, label
                    assert type(problem.parsed).__name__ == "Problem", label
                    assert problem.parsed.type_ == ProblemType.UNAUTHORIZED
                    failed.add(label)

        # Readiness fails once no worker consumes: the 503, parsed as the problem model.
        readyz = endpoint(document["paths"]["/readyz"]["get"])
        await stack.stop_workers()

        async def not_ready() -> bool:
            await stack.app_bus_connected()
            answer = await readyz.asyncio_detailed(client=anonymous)
            return bool(answer.status_code == 503)

        await wait_until(not_ready)
        unready = await readyz.asyncio_detailed(client=anonymous)
        assert type(unready.parsed).__name__ == "Problem"
        assert unready.parsed.status == 503
        failed.add("GET /readyz")

    every = {f"{m.upper()} {p}" for p, item in document["paths"].items() for m in item}
    assert called == every
    # What cannot fail for a well-formed call: liveness and the public discovery documents.
    assert every - failed == {
        "GET /healthz",
        "GET /.well-known/oauth-authorization-server",
        "GET /.well-known/jwks.json",
    }
