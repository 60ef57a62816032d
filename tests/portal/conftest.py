"""The whole platform served over a real TCP port, and headless Chromium driven by Playwright.

Chromium is Debian's ``chromium`` package (``make setup`` installs it where apt exists); with
no browser or no Playwright, the browser tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from esd_platform.testing import isolated_settings

from tests.e2e.test_keys_flow import VendorStub
from tests.support import Platform, running_platform, serving

CHROMIUM = os.environ.get("ESD_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "portal"


@dataclass
class Served:
    platform: Platform
    base_url: str
    browser: Any
    screenshots: Path


def chromium_path() -> str | None:
    if os.path.exists(CHROMIUM):
        return CHROMIUM
    return shutil.which("chromium")


@pytest.fixture(scope="module")
async def served() -> AsyncIterator[Served]:
    executable = chromium_path()
    if executable is None:
        pytest.skip("no chromium browser (apt-get install chromium; make setup does it)")
    try:
        from playwright.async_api import async_playwright
    except ImportError:
        pytest.skip("playwright is not installed (uv sync)")
    stub = VendorStub()  # the vendors' APIs: subscriptions are provisioned there
    await stub.start()
    try:
        with pytest.MonkeyPatch.context() as env:
            env.setenv("ESD_VENDOR_API_URL", stub.url)
            async with (
                isolated_settings() as settings,
                running_platform(settings) as platform,
                serving(platform) as base_url,
                async_playwright() as pw,
            ):
                browser = await pw.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
                SCREENSHOTS.mkdir(parents=True, exist_ok=True)
                try:
                    yield Served(platform, base_url, browser, SCREENSHOTS)
                finally:
                    await browser.close()
    finally:
        await stub.stop()
