"""``esd-gateway``: serve the gateway with granian."""

from __future__ import annotations

from granian.constants import Interfaces
from granian.server import Server

from gateway.settings import GatewaySettings


def main() -> None:
    settings = GatewaySettings()
    Server(
        "gateway.asgi:app",
        address="0.0.0.0",  # noqa: S104 - the gateway is the platform's public face
        port=settings.gateway_port,
        interface=Interfaces.ASGI,
        workers=settings.gateway_workers,
        log_access=False,
    ).serve()


if __name__ == "__main__":
    main()
