"""Root fixtures shared by every test package."""

from __future__ import annotations

import os

os.environ.setdefault("ESD_ENV", "test")


def pytest_sessionstart(session: object) -> None:
    """Start from a clean broker: remove test vhosts an earlier, killed run left behind."""
    from esd_platform.testing import sweep_test_vhosts

    sweep_test_vhosts()
