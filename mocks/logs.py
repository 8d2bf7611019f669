"""How a mock process logs: structlog, to stderr, JSON unless on a terminal.

Configured by the command lines (``mocks.server.main``, ``mocks.data.main``)
only, never on import, so that a test or a gateway process that imports the
mocks keeps its own logging. Events are constant dotted names
(``mocks.started``); personal data is never logged.
"""

from __future__ import annotations

import sys

import structlog


def configure_logging() -> None:
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer()
        if sys.stderr.isatty()
        else structlog.processors.JSONRenderer()
    )
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        logger_factory=structlog.PrintLoggerFactory(sys.stderr),
    )
