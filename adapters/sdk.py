"""The adapter SDK: everything an adapter author imports, from one module.

An adapter package needs nothing else of this project::

    from adapters.sdk import Adapter, Context, LocalModel, RecordNotFound, TransientError

    adapter: Adapter[MyClient] = Adapter("land", title="...", connect=MyClient)

    @adapter.operation("parcel-lookup", personal_data=True, subject="parcel_id")
    async def parcel_lookup(req: ParcelRequest, ctx: Context[MyClient]) -> ParcelResponse:
        # (a docstring here: its first line is the operation's summary)
        return await ctx.client.parcel(req.parcel_id)

Its tests import `adapters.testing` (`MockCentral`, `AdapterContract`) and use the
fixtures of the `lgsp` pytest plugin (`gateway.testing.plugin`, loaded by pytest
on its own once this project is installed). The names below are the public
API: `tests/unit/test_sdk_exports.py` pins them, so a change here is a release
note. `lgsp new adapter NAME` writes a package that uses them; docs/adapters.md
walks through it.
"""

from __future__ import annotations

from adapters.central import CentralResponse, CentralSession
from adapters.contract import check_adapter, check_operation
from adapters.errors import (
    AdapterError,
    CentralProtocolError,
    CentralRejected,
    ConfigError,
    IdempotencyConflict,
    LgspError,
    PermanentError,
    RecordNotFound,
    TransientError,
)
from adapters.interface import Adapter, Context, Operation, Purpose
from schemas.base import LocalModel
from schemas.config import AdapterSettings, RetrySettings
from schemas.identifiers import (
    HealthCardCode,
    PersonalId,
    SocialInsuranceCode,
    TaxCode,
    Text,
)

__all__ = [
    "Adapter",
    "AdapterError",
    "AdapterSettings",
    "CentralProtocolError",
    "CentralRejected",
    "CentralResponse",
    "CentralSession",
    "ConfigError",
    "Context",
    "HealthCardCode",
    "IdempotencyConflict",
    "LgspError",
    "LocalModel",
    "Operation",
    "PermanentError",
    "PersonalId",
    "Purpose",
    "RecordNotFound",
    "RetrySettings",
    "SocialInsuranceCode",
    "TaxCode",
    "Text",
    "TransientError",
    "check_adapter",
    "check_operation",
]
