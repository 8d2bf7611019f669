"""Settings of the central-system mocks, read once at start and passed down.

Every variable is prefixed ``LGSP_MOCK_`` (``LGSP_MOCK_SEED``,
``LGSP_MOCK_POPULATION_SECRET`` ...). The secrets have no default on purpose:
demo credentials are generated when the project is set up and handed to the
mocks through the environment, so a mock can never start with a secret that
is printed in this repository.

The three built-in mocks read flat fields (``population_api_key`` ...). Any
other mock -- one an adapter package brings through the ``lgsp.mocks`` entry
points -- reads its system's credentials with ``credentials_for(name)``: the
very dict its adapter is configured with (``[adapters.<name>.credentials]``),
which ``lgsp mock`` and ``lgsp dev`` hand over as ``LGSP_MOCK_CREDENTIALS``
(JSON ``{"<name>": {"<key>": "<value>"}}``) and tests pass as
``MockSettings(credentials=...)``.
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

    # Each system's credentials as its adapter is configured with them (by system name).
    credentials: dict[str, dict[str, SecretStr]] = Field(default_factory=dict)

    def credentials_for(self, system: str, *required: str) -> dict[str, str]:
        """The credentials of ``system`` in clear; a missing one is a clear start-up error."""
        found = {k: v.get_secret_value() for k, v in self.credentials.get(system, {}).items()}
        missing = [key for key in required if not found.get(key)]
        if missing:
            msg = (
                f"the {system} mock has no {', '.join(missing)} credential: configure "
                f"[adapters.{system}.credentials] (`lgsp init` does) or pass LGSP_MOCK_CREDENTIALS"
            )
            raise ValueError(msg)
        return found
