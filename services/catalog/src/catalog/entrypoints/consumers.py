"""The catalog's RabbitMQ router: contract in, use case called, nothing else."""

from __future__ import annotations

from esd_platform.service import Service
from faststream.rabbit import RabbitRouter


def build_router(service: Service) -> RabbitRouter:
    """The catalog consumes nothing yet: it only publishes ``ProductChanged``."""
    del service
    return RabbitRouter()
