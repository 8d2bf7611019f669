"""This project's stack: `gateway.testing.stack`, limited to the project's own adapters.

The stack code is shipped in `gateway/testing/` for adapter packages; here
`running_stack` serves the adapters this distribution registers unless told
otherwise, so an adapter package installed beside the project is ignored by
the project's own tests.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import Any

from adapters.registry import installed_by
from gateway.testing import stack as shipped
from gateway.testing.rabbit import Rabbit
from gateway.testing.stack import (
    PURPOSE,
    TEST_CLIENT,
    TEST_RETRY,
    Stack,
    config_values,
    make_settings,
    running_mocks,
    test_keys_dir,
)
from mocks.settings import MockSettings

__all__ = [
    "PROJECT_ADAPTERS",
    "PURPOSE",
    "TEST_CLIENT",
    "TEST_RETRY",
    "Stack",
    "config_values",
    "make_settings",
    "running_mocks",
    "running_stack",
    "test_keys_dir",
]

#: The adapters of this distribution (the built-in central systems).
PROJECT_ADAPTERS = installed_by("lgsp-gateway")


@asynccontextmanager
async def running_stack(
    rabbit: Rabbit,
    mock_settings: MockSettings,
    generated: dict[str, Any],
    *,
    adapters: Iterable[str] | None = None,
    **options: Any,
) -> AsyncIterator[Stack]:
    """`gateway.testing.stack.running_stack` over this project's adapters by default."""
    names = PROJECT_ADAPTERS if adapters is None else list(adapters)
    async with shipped.running_stack(
        rabbit, mock_settings, generated, adapters=names, **options
    ) as stack:
        yield stack
