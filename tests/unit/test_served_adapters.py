"""Installed is not served: only configured adapters get routes, readiness and a worker; an
unconfigured one is named with the command that configures it, and breaks nothing else."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from adapters.errors import ConfigError
from adapters.registry import Registry, installed_by
from adapters.runner import run_worker
from gateway.cli import preflight
from gateway.server import served_adapters
from schemas.config import Settings

CONFIGURED = Settings.model_validate({"adapters": {"population": {}, "business": {}}})


def test_the_registry_splits_configured_from_unconfigured_adapters() -> None:
    served, unconfigured = Registry.discover().configured(CONFIGURED)
    # `audit` reads the gateway's own store: the settings always configure it (from [audit]).
    assert served.names == ["audit", "business", "population"]
    assert {"insurance", "civil-status"} <= set(unconfigured)
    assert served.operation("insurance", "participant-lookup") is None


def test_the_gateway_logs_each_unconfigured_adapter_and_serves_the_rest() -> None:
    with capture_logs() as logs:
        served = served_adapters(CONFIGURED)
    assert served.names == ["audit", "business", "population"]
    named = {e["adapter"] for e in logs if e["event"] == "gateway.adapter_not_configured"}
    assert {"insurance", "civil-status"} <= named


def test_lgsp_dev_says_which_adapters_it_leaves_out_and_how_to_add_them() -> None:
    _, notes = preflight.served_adapters(CONFIGURED, Registry.discover())
    assert any("'civil-status' is installed but not configured" in n for n in notes)
    assert all("lgsp init" in n for n in notes)


def test_a_worker_for_an_unconfigured_adapter_refuses_to_start_and_says_why() -> None:
    with pytest.raises(ConfigError, match="not configured: run `lgsp init`"):
        run_worker("insurance", CONFIGURED)


def test_the_project_distribution_registers_the_four_central_systems_and_the_audit_trail() -> None:
    assert installed_by("lgsp-gateway") == [
        "audit",
        "business",
        "civil-status",
        "insurance",
        "population",
    ]
    assert Registry.discover(["population"]).names == ["population"]
