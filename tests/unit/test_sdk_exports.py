"""The adapter SDK's public surface is pinned (as httpx pins its exports): a change to what
`adapters.sdk` or `adapters.testing` exports is deliberate, and every name is importable."""

from __future__ import annotations

import adapters.sdk
import adapters.testing

SDK = [
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
TESTING = [
    "AdapterContract",
    "CentralHandler",
    "CentralRequest",
    "MockCentral",
    "central_response",
    "handler_context",
]


def test_the_sdk_exports_exactly_its_documented_names_sorted() -> None:
    assert adapters.sdk.__all__ == SDK
    assert sorted(adapters.sdk.__all__) == adapters.sdk.__all__


def test_the_testing_module_exports_exactly_its_documented_names_sorted() -> None:
    assert adapters.testing.__all__ == TESTING
    assert sorted(adapters.testing.__all__) == adapters.testing.__all__


def test_every_exported_name_exists_and_no_public_name_is_left_out() -> None:
    for module in (adapters.sdk, adapters.testing):
        for name in module.__all__:
            assert getattr(module, name) is not None, name
    public = {
        name
        for name, value in vars(adapters.sdk).items()
        if not name.startswith("_")
        and getattr(value, "__module__", "").startswith(("adapters", "schemas"))
    }
    assert public <= set(adapters.sdk.__all__)
