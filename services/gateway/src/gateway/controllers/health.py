"""Liveness and readiness (no auth)."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Response, get
from litestar.di import NamedDependency

from gateway.runtime import Gateway


class HealthController(Controller):
    tags = ["health"]  # noqa: RUF012 - Litestar reads it as a class attribute

    @get("/health", summary="Liveness: the process answers")
    async def health(self) -> dict[str, str]:
        return {"status": "ok"}

    @get("/ready", summary="Readiness: database, broker and every service the gateway needs")
    async def ready(self, gateway: NamedDependency[Gateway]) -> Response[dict[str, Any]]:
        checks: dict[str, Any] = {"gateway": await gateway.service.ready()}
        try:
            missing = await gateway.probe.missing_consumers()
        except Exception:
            missing = ["broker unreachable"]
        checks["services"] = "ok" if not missing else {"without_consumer": missing}
        ok = checks["gateway"] is True and not missing
        return Response(
            {"status": "ready" if ok else "not_ready", "checks": checks},
            status_code=200 if ok else 503,
        )


ROUTES: list[type] = [HealthController]
