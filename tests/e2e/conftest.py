"""One platform (database + vhost of its own) shared by the end-to-end tests of a module.

Module scope, so that two platforms never run at once in this process (the crash tests start
their own): six services' connection pools must fit PostgreSQL's max_connections.

Tests isolate themselves by partner: each makes its own partners, so no test sees another's
orders, balance or documents.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from esd_platform.testing import isolated_settings

from tests.support import Platform, running_platform


@pytest.fixture(scope="module")
async def platform() -> AsyncIterator[Platform]:
    async with isolated_settings() as settings, running_platform(settings) as running:
        yield running
