"""The adapter contract: the whole extension surface in one file.

An integrator writes one module::

    adapter = Adapter("population", title="...", connect=PopulationClient)

    @adapter.operation("citizen-verify", personal_data=True)
    async def citizen_verify(req: VerifyRequest, ctx: Context[PopulationClient]) -> VerifyResponse:
        return await ctx.client.verify(req)

and registers `adapter` in the `lgsp.adapters` entry-point group. Request and
response models come from the handler's annotations, so routes, validation and
OpenAPI are all derived from this one declaration.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, get_type_hints

import structlog
from pydantic import BaseModel, TypeAdapter

from adapters.central import CentralSession
from schemas.config import AdapterSettings, BreakerSettings, RetrySettings

ReqT = TypeVar("ReqT", bound=BaseModel)
RespT = TypeVar("RespT", bound=BaseModel)
ClientT = TypeVar("ClientT")


@dataclass(frozen=True, slots=True)
class Purpose:
    """Why personal data is accessed: who, under which procedure, for which case."""

    officer_id: str
    procedure_code: str
    case_id: str


@dataclass(slots=True)
class Context(Generic[ClientT]):
    """What a handler gets besides its request: the central-system client and the call's facts."""

    client: ClientT
    request_id: str
    operation: str
    deadline: float  # seconds since the epoch
    client_id: str | None = None
    purpose: Purpose | None = None
    idempotency_key: str | None = None
    log: structlog.typing.FilteringBoundLogger = field(
        default_factory=lambda: structlog.get_logger("lgsp.adapter")
    )

    def remaining(self) -> float:
        return self.deadline - time.time()


Handler = Callable[[ReqT, Context[ClientT]], Awaitable[RespT]]


@dataclass(frozen=True, slots=True)
class Operation(Generic[ClientT]):
    name: str
    request_model: type[BaseModel]
    response_model: type[BaseModel]
    handler: Callable[[Any, Context[ClientT]], Awaitable[BaseModel]]
    summary: str = ""
    personal_data: bool = False
    write: bool = False
    timeout: float | None = None
    # Field groups of the response a client may be denied: group -> dotted paths of fields
    # (e.g. "sensitive": ("citizen.ethnicity", "citizen.religion")).
    field_groups: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # The request field naming the data subject (audited as a keyed hash, never in clear).
    subject: str | None = None
    # The response field that says whether the request's claims matched a record (a bool, or
    # a list of matches): a false or empty one is a failed match, and repeated failed matches
    # on one subject by one client are refused for a while (gateway/security/match_throttle.py).
    match_result: str | None = None
    # A valid request body (synthetic data only) for the docs, the banner and the contract.
    example: dict[str, Any] | None = None
    request_adapter: TypeAdapter[Any] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # Built once: validating straight from bytes with a prebuilt validator is the fast path.
        object.__setattr__(self, "request_adapter", TypeAdapter(self.request_model))


class Adapter(Generic[ClientT]):
    """A named set of operations against one central system.

    `connect` builds the central-system client from the injected session and the
    adapter's settings, once per worker process. `base_url` is where the central
    system is when the configuration does not say (the local mock, for a demo);
    `demo_credentials` makes fresh credentials for a local run, which `lgsp init`
    writes for the adapter and hands to its mock (`<adapter>_<key>` settings).
    `retry` and `breaker` are the adapter's defaults for its retry policy and its
    central system's circuit breaker; the configuration overrides either.
    """

    def __init__(
        self,
        name: str,
        *,
        title: str,
        connect: Callable[[CentralSession, AdapterSettings], ClientT],
        retry: RetrySettings | None = None,
        breaker: BreakerSettings | None = None,
        base_url: str = "",
        demo_credentials: Callable[[], dict[str, str]] | None = None,
    ) -> None:
        self.name = name
        self.title = title
        self.connect = connect
        self.retry = retry or RetrySettings()
        self.breaker = breaker or BreakerSettings()
        self.base_url = base_url
        self.demo_credentials = demo_credentials
        self.operations: dict[str, Operation[ClientT]] = {}

    def operation(
        self,
        name: str,
        *,
        summary: str = "",
        personal_data: bool = False,
        write: bool = False,
        timeout: float | None = None,
        field_groups: dict[str, tuple[str, ...]] | None = None,
        subject: str | None = None,
        match_result: str | None = None,
        example: dict[str, Any] | None = None,
    ) -> Callable[[Handler[ReqT, ClientT, RespT]], Handler[ReqT, ClientT, RespT]]:
        def register(handler: Handler[ReqT, ClientT, RespT]) -> Handler[ReqT, ClientT, RespT]:
            if name in self.operations:
                raise ValueError(f"operation {name!r} registered twice on {self.name!r}")
            request_model, response_model = _models_of(handler)
            self.operations[name] = Operation(
                name=name,
                request_model=request_model,
                response_model=response_model,
                handler=handler,
                summary=summary or (inspect.getdoc(handler) or "").split("\n")[0],
                personal_data=personal_data,
                write=write,
                timeout=timeout,
                field_groups=field_groups or {},
                subject=subject,
                match_result=match_result,
                example=example,
            )
            return handler

        return register

    def retry_policy(self, settings: AdapterSettings) -> RetrySettings:
        """Configuration wins over the adapter's declared default."""
        return settings.retry if "retry" in settings.model_fields_set else self.retry

    def breaker_policy(self, settings: AdapterSettings) -> BreakerSettings:
        """Configuration wins over the adapter's declared default."""
        return settings.breaker if "breaker" in settings.model_fields_set else self.breaker


def _models_of(handler: Callable[..., Any]) -> tuple[type[BaseModel], type[BaseModel]]:
    hints = get_type_hints(handler)
    params = list(inspect.signature(handler).parameters)
    request_model, response_model = hints.get(params[0]) if params else None, hints.get("return")
    for model in (request_model, response_model):
        if not (isinstance(model, type) and issubclass(model, BaseModel)):
            raise TypeError(
                f"{handler.__qualname__}: annotate the request parameter and the return "
                "type with pydantic models"
            )
    return request_model, response_model  # type: ignore[return-value]
