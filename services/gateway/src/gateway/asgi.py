"""ASGI entry point for granian: ``gateway.asgi:app``."""

from esd_platform.logging import configure_logging
from esd_platform.settings import PlatformSettings

from gateway.bootstrap import create_app

configure_logging("gateway", PlatformSettings().log_level)
app = create_app()
