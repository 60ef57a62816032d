"""Structured JSON logs: every line one JSON object carrying the correlation id in context.

Standard-library loggers (faststream, litestar, sqlalchemy, alembic) go through the same
renderer, so nothing prints plain text.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import structlog

_shared: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.processors.StackInfoRenderer(),
    structlog.processors.format_exc_info,
]


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time of the line (test capture included)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _: Any) -> None:
        pass


def configure_logging(service: str, level: str = "INFO") -> None:
    """Route structlog and stdlib logging to one JSON renderer on stderr."""
    structlog.configure(
        # a line below the level is dropped before the chain stamps and merges it (the hot
        # path logs at INFO; with ESD_LOG_LEVEL=WARNING that work was done and thrown away)
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared,
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.JSONRenderer(),
        ],
    )
    handler = _StderrHandler()
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # connection chatter, and alembic's plugin loader (seven lines at every service start)
    for noisy in ("aiormq", "aio_pika", "asyncio", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel("WARNING")
    structlog.contextvars.bind_contextvars(service=service)


def bind_correlation(correlation_id: str | None, **extra: Any) -> None:
    """Put the order's correlation id (and more) into every log line of this task."""
    structlog.contextvars.bind_contextvars(correlation_id=correlation_id, **extra)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
