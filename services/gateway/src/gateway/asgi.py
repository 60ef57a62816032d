"""ASGI entry point for granian: ``gateway.asgi:app``."""

from esd_platform.allocator import tune_allocator
from esd_platform.logging import configure_logging
from esd_platform.settings import PlatformSettings

from gateway.bootstrap import create_app

tune_allocator()  # in each granian worker: this module is what a worker imports
configure_logging("gateway", PlatformSettings().log_level)
app = create_app()
