"""Settings of the central-system mocks, read once at start and passed down.

Every variable is prefixed ``LGSP_MOCK_`` (``LGSP_MOCK_SEED``,
``LGSP_MOCK_POPULATION_SECRET`` ...). The secrets have no default on purpose:
demo credentials are generated when the project is set up and handed to the
mocks through the environment, so a mock can never start with a secret that
is printed in this repository.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class DataSettings(BaseSettings):
    """Where the synthetic data set lives and what it holds.

    Separate from the credentials so that ``python -m mocks.data`` can build
    or inspect the data set without any secret in the environment.
    """

    model_config = SettingsConfigDict(env_prefix="LGSP_MOCK_", extra="ignore", frozen=True)

    data_dir: Path = Path("var/mockdata")
    seed: int = 20260101
    citizens: int = Field(default=100_000, ge=1, le=10_000_000)
    enterprises: int = Field(default=20_000, ge=0, le=2_000_000)
    insured: int = Field(default=100_000, ge=0, le=10_000_000)

    @model_validator(mode="after")
    def _insured_are_citizens(self) -> DataSettings:
        # Every insured person is a citizen (linked by personal ID), so there
        # cannot be more insured persons than citizens.
        if self.insured > self.citizens:
            msg = f"insured ({self.insured}) cannot exceed citizens ({self.citizens})"
            raise ValueError(msg)
        return self


class MockSettings(DataSettings):
    """What the three mocks need: the data set, credentials, clock and faults."""

    # Population (X-Road style): the one client system licensed to call it,
    # its user name, API key and signing secret.
    population_client: str = "VN/GOV/000.00.31.H29/LGSP-HP"
    population_user: str = "lgsp-hp"
    population_api_key: SecretStr
    population_secret: SecretStr

    # Business registration (OAuth2 client credentials, WSO2 style).
    business_client_id: str
    business_client_secret: SecretStr
    business_token_ttl: int = Field(default=3600, ge=1)

    # Social insurance: one API key header.
    insurance_api_key: SecretStr

    # How far a caller's clock may drift from ours before a signed request
    # counts as a replay.
    max_clock_skew_s: int = Field(default=300, ge=1)

    # The fault configuration (JSON, see mocks.faults.FaultConfig) that every
    # mock applies from the moment it starts; empty means no faults.
    faults: str = ""
