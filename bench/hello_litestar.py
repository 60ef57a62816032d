"""The yardstick of bench/gateway.py: a bare Litestar hello-world, served as the gateway is."""

from __future__ import annotations

from litestar import Litestar, get


@get("/", sync_to_thread=False)
def hello() -> dict[str, str]:
    return {"hello": "world"}


app = Litestar([hello], debug=False, logging_config=None)
