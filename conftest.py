"""Root fixtures shared by every test package."""

from __future__ import annotations

import os

os.environ.setdefault("ESD_ENV", "test")


def pytest_configure(config: object) -> None:
    """Tests log as the services do: one JSON line each (structlog's default console renderer
    formats every logged exception with rich and pygments, which a redelivery loop under test
    turns into seconds of CPU)."""
    from esd_platform.logging import configure_logging

    configure_logging("test")


def pytest_sessionstart(session: object) -> None:
    """Start from a clean broker: remove test vhosts an earlier, killed run left behind."""
    from esd_platform.testing import sweep_test_vhosts

    sweep_test_vhosts()
