"""Root fixtures shared by every test package."""

from __future__ import annotations

import os

os.environ.setdefault("ESD_ENV", "test")
# Test platforms seed the compact demo catalog: every vendor, product line, kind, key source,
# required field and VAT rate, in 343 products instead of 3,370. Each platform start would
# otherwise spend seconds announcing 3,370 products to the gateway's replica, on every one of
# the suite's few dozen platforms. The catalog's own tests seed the whole one explicitly.
os.environ.setdefault("ESD_CATALOG_DEMO_SIZE", "compact")


def pytest_configure(config: object) -> None:
    """Tests log as the services do: one JSON line each (structlog's default console renderer
    formats every logged exception with rich and pygments, which a redelivery loop under test
    turns into seconds of CPU)."""
    from esd_platform.logging import configure_logging

    configure_logging("test")


def pytest_xdist_auto_num_workers(config: object) -> int | None:
    """``make test`` runs ``-n auto``: two test files at once, or one where PostgreSQL's
    ``max_connections`` is too low for two test platforms (Debian's default 100; ``.ci/run``
    raises it to 400). ``PYTEST_XDIST_AUTO_NUM_WORKERS`` still decides when it is set."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # pytest-xdist's own hook reads it
    from esd_platform.testing import FULL_SUITE_CONNECTIONS, server_max_connections, suite_workers

    available = server_max_connections()
    workers = suite_workers(available)
    if workers == 1:
        print(  # noqa: T201 - before pytest's own reporter exists
            f"tests: PostgreSQL's max_connections is {available}, below the "
            f"{FULL_SUITE_CONNECTIONS} two test files at once need: running one at a time "
            "(about twice as long; README, 'Two commands')",
            flush=True,
        )
    return workers


def pytest_sessionstart(session: object) -> None:
    """Start from a clean broker: remove test vhosts an earlier, killed run left behind."""
    from esd_platform.testing import sweep_test_vhosts

    sweep_test_vhosts()
