"""Test access to the broker: moved to `gateway.testing.rabbit` (shipped for adapter packages)."""

from __future__ import annotations

from gateway.testing.rabbit import Rabbit

__all__ = ["Rabbit"]
