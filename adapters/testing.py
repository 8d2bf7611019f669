"""Testing an adapter without a network: a test double for the central session, a context,
and the contract suite every adapter's tests subclass.

`MockCentral(handler)` stands in for the `CentralSession` the runtime injects,
the way httpx's `MockTransport` stands in for a transport: each request the
adapter's client sends is handed to `handler` as a `CentralRequest`, and what
the handler returns (a `CentralResponse`, or an exception it raises) is what
the client gets::

    def central(request: CentralRequest) -> CentralResponse:
        assert request.path == "/registry/v1/lookup"
        return central_response(200, json={"found": True})

    client = MyClient(MockCentral(central), settings)

`AdapterContract` is one abstract test class (as FastStream shares its broker
suites across backends): subclass it in your package's tests, name your
adapter, and answer your operations' examples in `central`; its tests then run
against your adapter. They never start a broker; the `lgsp` pytest plugin's
`lgsp_stack` fixture does that for end-to-end tests.
"""

from __future__ import annotations

import asyncio
import inspect
import json as jsonlib
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, ClassVar, TypeVar

from multidict import CIMultiDict, CIMultiDictProxy
from pydantic import BaseModel

from adapters.central import CentralResponse, CentralSession
from adapters.contract import check_adapter, field_of
from adapters.errors import CentralProtocolError, PermanentError, TransientError
from adapters.interface import Adapter, Context, Operation, Purpose
from adapters.registry import ENTRY_POINT_GROUP
from schemas.config import AdapterSettings

ClientT = TypeVar("ClientT")

__all__ = [
    "AdapterContract",
    "CentralHandler",
    "CentralRequest",
    "MockCentral",
    "central_response",
    "handler_context",
]

#: The purpose trail a test context carries (synthetic: an officer, a procedure, a case).
TEST_PURPOSE = Purpose("CB-HP-0042", "1.001612", "HS-2026-000123")
MOCK_BASE_URL = "http://central.invalid"


@dataclass(frozen=True, slots=True)
class CentralRequest:
    """One request as the adapter's client sent it; `body` is the bytes that would be sent."""

    method: str
    path: str
    headers: Mapping[str, str]
    params: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return jsonlib.loads(self.body)


CentralHandler = Callable[[CentralRequest], CentralResponse | Awaitable[CentralResponse]]


def central_response(
    status: int = 200,
    *,
    body: bytes = b"",
    json: Any = None,
    headers: Mapping[str, str] | None = None,
) -> CentralResponse:
    """An answer for a `MockCentral` handler to return (`json` is encoded as UTF-8 JSON)."""
    all_headers = CIMultiDict(headers or {})
    if json is not None:
        body = jsonlib.dumps(json, ensure_ascii=False).encode()
        all_headers.setdefault("Content-Type", "application/json")
    return CentralResponse(status, CIMultiDictProxy(all_headers), body)


class MockCentral(CentralSession):
    """A `CentralSession` whose answers come from `handler`; it keeps every request sent."""

    def __init__(self, handler: CentralHandler, settings: AdapterSettings | None = None) -> None:
        super().__init__(settings or AdapterSettings(), base_url=MOCK_BASE_URL)
        self.handler = handler
        self.requests: list[CentralRequest] = []

    async def request(
        self,
        method: str,
        path: str,
        *,
        headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        data: bytes | str | Mapping[str, str] | None = None,
        json: Any = None,
    ) -> CentralResponse:
        if json is not None:
            body = jsonlib.dumps(json).encode()
        elif isinstance(data, str):
            body = data.encode()
        elif isinstance(data, Mapping):
            body = "&".join(f"{k}={v}" for k, v in data.items()).encode()
        else:
            body = data or b""
        sent = CentralRequest(method, path, dict(headers or {}), dict(params or {}), body)
        self.requests.append(sent)
        answer = self.handler(sent)
        if inspect.isawaitable(answer):
            answer = await answer
        if len(answer.body) > self.max_response_bytes:  # as the real session does
            raise CentralProtocolError(
                f"central answer larger than {self.max_response_bytes} bytes"
            )
        return answer

    async def aclose(self) -> None:
        return None


def handler_context(
    client: ClientT,
    *,
    operation: str = "test",
    idempotency_key: str | None = None,
    timeout: float = 10.0,
    purpose: Purpose | None = TEST_PURPOSE,
) -> Context[ClientT]:
    """The context the runtime would give a handler: a request id, a deadline, a purpose."""
    return Context(
        client=client,
        request_id="req-test-0001",
        operation=operation,
        deadline=time.time() + timeout,
        client_id="tests",
        purpose=purpose,
        idempotency_key=idempotency_key,
    )


def _run(
    op: Operation[Any],
    adapter: Adapter[Any],
    session: MockCentral,
    settings: AdapterSettings,
    body: dict[str, Any],
) -> BaseModel:
    async def call() -> BaseModel:
        client = adapter.connect(session, settings)
        request = op.request_model.model_validate(body)
        key = "contract-key-0001" if op.write else None
        return await op.handler(
            request, handler_context(client, operation=op.name, idempotency_key=key)
        )

    return asyncio.run(call())


class AdapterContract:
    """The checks every adapter passes. Subclass it as `TestMyAdapterContract` and set:

    - `adapter`: your `Adapter`;
    - `central(request)`: what your central system answers to your operations' examples
      (a realistic answer, e.g. recorded from your mock);
    - optionally `settings()` (default: the adapter's demo credentials) and `examples()`
      (default: each operation's declared `example`).
    """

    adapter: ClassVar[Adapter[Any]]

    def central(self, request: CentralRequest) -> CentralResponse:
        raise NotImplementedError("answer your operations' examples as the central system would")

    def settings(self) -> AdapterSettings:
        make = self.adapter.demo_credentials
        credentials = make() if make is not None else {}
        return AdapterSettings.model_validate({"credentials": credentials})

    def examples(self) -> dict[str, dict[str, Any]]:
        return {name: op.example for name, op in self.adapter.operations.items() if op.example}

    # -- registration and declaration --------------------------------------------------------

    def test_it_is_registered_under_its_name(self) -> None:
        """The `lgsp.adapters` entry point of this name loads this very adapter."""
        found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == self.adapter.name]
        assert found, f"no {ENTRY_POINT_GROUP!r} entry point named {self.adapter.name!r}"
        assert found[0].load() is self.adapter

    def test_it_keeps_the_declaration_rules(self) -> None:
        """Names, strict request models, summaries, subjects, schemas, retry policy."""
        assert check_adapter(self.adapter) == []

    def test_every_field_group_names_fields_of_the_response(self) -> None:
        for op in self.adapter.operations.values():
            for group, paths in op.field_groups.items():
                for path in paths:
                    assert field_of(op.response_model, path) is not None, (op.name, group, path)

    def test_it_says_where_its_central_system_is_and_makes_demo_credentials(self) -> None:
        """`lgsp init` writes both; `lgsp dev` serves the mock at `base_url`."""
        assert self.adapter.base_url.startswith(("http://", "https://"))
        assert self.adapter.demo_credentials is not None
        first, second = self.adapter.demo_credentials(), self.adapter.demo_credentials()
        assert first, "demo credentials are a non-empty dict"
        assert all(isinstance(v, str) and v for v in first.values())
        assert first != second, "demo credentials are generated afresh, never fixed"

    def test_every_operation_has_an_example_its_request_model_accepts(self) -> None:
        examples = self.examples()
        for name, op in self.adapter.operations.items():
            assert name in examples, f"{name}: declare `example={{...}}` (the banner shows it)"
            op.request_model.model_validate(examples[name])

    # -- behaviour on a central system that answers, fails, or talks nonsense ---------------

    def test_examples_are_answered_with_the_response_model(self) -> None:
        for name, body in self.examples().items():
            op = self.adapter.operations[name]
            session = MockCentral(self.central)
            answer = _run(op, self.adapter, session, self.settings(), body)
            assert isinstance(answer, op.response_model)
            assert session.requests, f"{name}: the central system was never called"

    def test_an_unavailable_central_system_is_a_transient_error(self) -> None:
        """503 from the central system: retrying may help, the runtime decides."""
        for name, body in self.examples().items():
            op = self.adapter.operations[name]
            session = MockCentral(lambda _r: central_response(503, body=b"busy"))
            try:
                _run(op, self.adapter, session, self.settings(), body)
            except TransientError:
                continue
            raise AssertionError(f"{name}: a 503 must raise TransientError")

    def test_an_unreadable_answer_is_a_permanent_error_not_a_crash(self) -> None:
        """Garbage with a 200: a `PermanentError` (a 502 for the caller), never an exception
        of the adapter's own code (which the runtime dead-letters as a bug)."""
        for name, body in self.examples().items():
            op = self.adapter.operations[name]
            session = MockCentral(lambda _r: central_response(200, body=b"\x00<not {an answer"))
            try:
                _run(op, self.adapter, session, self.settings(), body)
            except PermanentError:
                continue
            raise AssertionError(f"{name}: an unreadable answer must raise a PermanentError")
