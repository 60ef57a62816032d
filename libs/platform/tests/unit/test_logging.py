"""Every log line is one JSON object carrying the service and the order's correlation id."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from esd_platform.logging import bind_correlation, configure_logging, get_logger


@pytest.fixture
def json_logging(capsys: pytest.CaptureFixture[str]) -> Iterator[None]:
    # capsys first, so the handler writes to the captured stderr
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    configure_logging("credit")
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        structlog.contextvars.clear_contextvars()
        structlog.configure(**config)  # what the session had (the root conftest's JSON)


def lines(err: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in err.splitlines() if line.strip()]


@pytest.mark.usefixtures("json_logging")
def test_structlog_and_stdlib_lines_are_json_with_the_correlation_id(
    capsys: pytest.CaptureFixture[str],
) -> None:
    bind_correlation("order-42")
    get_logger("esd.credit").info("credit_reserved", amount="10.00")
    logging.getLogger("esd.credit.broker").warning("library line")  # what make_broker logs to
    records = lines(capsys.readouterr().err)
    assert [r["event"] for r in records] == ["credit_reserved", "library line"]
    for record in records:
        assert record["correlation_id"] == "order-42"
        assert record["service"] == "credit"
        assert "timestamp" in record
        assert "level" in record
