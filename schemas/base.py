"""The base of every local-facing model: strict in what it accepts, explicit in what it gives."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class LocalModel(BaseModel):
    """Unknown fields rejected, no NaN or infinity, frozen once validated."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, frozen=True)
