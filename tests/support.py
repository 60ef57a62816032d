"""Helpers for tests that run the whole platform: start it, make partners, wait for orders."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import uvicorn
from esd_cli.services import BACKEND, builder
from esd_platform.service import Service
from esd_platform.settings import PlatformSettings

OPS_TOKEN = "ops-test-token"
OPS = {"Authorization": f"Bearer {OPS_TOKEN}"}
FINAL = {"completed", "rejected", "failed", "cancelled"}

# Valid INNs (control digits correct) for test partners; each test partner takes the next one.
_INNS = [
    "7707083893",
    "7728168971",
    "7736207543",
    "7702070139",
    "7710140679",
    "7744001497",
    "7825706086",
    "6663003127",
    "7842155505",
    "500100732259",
    "773370857141",
]


@dataclass
class Partner:
    partner_id: str
    api_key: str
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.headers = {"Authorization": f"Bearer {self.api_key}"}


@dataclass
class Platform:
    client: httpx.AsyncClient
    settings: PlatformSettings
    services: dict[str, Service]
    _next_inn: int = 0

    async def new_partner(self, live: bool = True, limit: str | None = None) -> Partner:
        inn = _INNS[self._next_inn % len(_INNS)]
        self._next_inn += 1
        applied = await self.client.post(
            "/api/v1/applications",
            json={
                "company_name": f"ООО «Тест {self._next_inn}»",
                "inn": inn,
                "email": f"p{self._next_inn}@example.ru",
                "region": "Москва",
            },
        )
        assert applied.status_code == 201, applied.text
        app_id = applied.json()["application_id"]
        approved = await self.client.post(
            f"/api/v1/admin/applications/{app_id}/approve", headers=OPS
        )
        assert approved.status_code == 200, approved.text
        partner = Partner(approved.json()["partner_id"], approved.json()["api_key"])
        if live:
            await self.client.post(  # go-live needs the contract recorded as signed
                f"/api/v1/admin/partners/{partner.partner_id}/contract-signed",
                json={"number": "T-1", "date": "2026-01-01"},
                headers=OPS,
            )
            went = await self.client.post(
                f"/api/v1/admin/partners/{partner.partner_id}/go-live", headers=OPS
            )
            assert went.status_code in (200, 204), went.text
        if limit is not None:
            await self.set_credit(partner, limit)
        await self.wait_for_credit_line(partner, limit)
        return partner

    async def set_credit(self, partner: Partner, limit: str, term_days: int = 15) -> None:
        answer = await self.client.put(
            f"/api/v1/admin/partners/{partner.partner_id}/credit",
            json={"limit": limit, "term_days": term_days},
            headers=OPS,
        )
        assert answer.status_code in (200, 202, 204), answer.text

    async def balance(self, partner: Partner) -> dict[str, Any]:
        answer = await self.client.get("/api/v1/balance", headers=partner.headers)
        assert answer.status_code == 200, answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def wait_for_credit_line(self, partner: Partner, limit: str | None) -> None:
        """The credit line is made from PartnerRegistered: wait until credit has it."""

        async def ready() -> bool:
            answer = await self.client.get("/api/v1/balance", headers=partner.headers)
            if answer.status_code != 200:
                return False
            return limit is None or answer.json()["limit"] == limit

        await eventually(ready, timeout=60)

    async def catalog_settled(self) -> None:
        """Wait until the demo seed is through: the gateway's replica holds the whole catalog and
        the catalog's relay is idle. Until then the catalog is busy announcing its seed (343
        products in the suite, 3,370 with the whole demo catalog), and on a loaded machine a
        query to it (a price rule, say) can outlast the gateway's timeout."""
        conn = await asyncpg.connect(self.settings.database_url.replace("+asyncpg", ""))

        async def settled() -> bool:
            counts = await conn.fetchrow(
                "SELECT (SELECT count(*) FROM catalog.products) AS catalog, "
                "(SELECT count(*) FROM gateway.products) AS replica, "
                "(SELECT count(*) FROM catalog.outbox) AS backlog"
            )
            assert counts is not None
            return (
                bool(counts["catalog"])
                and counts["catalog"] == counts["replica"]
                and (not counts["backlog"])
            )

        try:
            await eventually(settled, timeout=90)
        finally:
            await conn.close()

    async def inactive_product(self) -> str:
        """The sku of a product the catalog has retired."""
        product = await self.product(lambda p: not p["active"], active=False, key_source=None)
        return str(product["sku"])

    async def skus_from(self, key_source: str) -> set[str]:
        """Skus whose keys come from ``key_source`` (not part of the partner's product resource,
        so read from the gateway's replica)."""
        conn = await asyncpg.connect(self.settings.database_url.replace("+asyncpg", ""))
        try:
            rows = await conn.fetch(
                "SELECT sku FROM gateway.products WHERE key_source = $1", key_source
            )
        finally:
            await conn.close()
        return {row["sku"] for row in rows}

    async def product(
        self,
        predicate: Callable[[dict[str, Any]], bool],
        active: bool = True,
        key_source: str | None = "generator",
    ) -> dict[str, Any]:
        """The first catalog product matching ``predicate`` (waits for the replica)."""
        found: dict[str, Any] = {}

        async def look() -> bool:
            allowed = await self.skus_from(key_source) if key_source else None
            cursor = None
            for _ in range(40):
                params: dict[str, Any] = {"limit": 100}
                if cursor:
                    params["cursor"] = cursor
                answer = await self.client.get(
                    "/api/v1/catalog/products", params=params, headers=OPS_AS_ANY
                )
                if answer.status_code != 200:
                    return False
                page = answer.json()
                for item in page["items"]:
                    if allowed is not None and item["sku"] not in allowed:
                        continue
                    if item["active"] is active and predicate(item):
                        found.update(item)
                        return True
                cursor = page.get("next_cursor")
                if not cursor:
                    return False
            return False

        await eventually(look, timeout=60)
        return found

    async def order(self, partner: Partner, body: dict[str, Any], wait: int = 10) -> dict[str, Any]:
        answer = await self.client.post(
            f"/api/v1/orders?wait={wait}", json=body, headers=partner.headers
        )
        assert answer.status_code in (200, 201, 202), answer.text
        return answer.json()  # type: ignore[no-any-return]

    async def final_order(
        self, partner: Partner, order_id: str, timeout: float = 30
    ) -> dict[str, Any]:
        result: dict[str, Any] = {}

        async def done() -> bool:
            answer = await self.client.get(
                f"/api/v1/orders/{order_id}?wait=5", headers=partner.headers
            )
            result.update(answer.json())
            return answer.json()["status"] in FINAL

        await eventually(done, timeout=timeout)
        return result


OPS_AS_ANY: dict[str, str] = {}
"""Catalog reads need a partner key; tests set this to one (see the platform fixture)."""


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 20) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            name = getattr(check, "__qualname__", repr(check))
            raise AssertionError(f"condition not met in {timeout:g} s: {name}")
        await asyncio.sleep(0.1)


@asynccontextmanager
async def running_platform(
    settings: PlatformSettings, exclude: tuple[str, ...] = ()
) -> AsyncIterator[Platform]:
    """Every backend service (but ``exclude``) in this event loop, and the gateway app."""
    from gateway.bootstrap import create_app
    from gateway.settings import GatewaySettings
    from gateway.testing import in_loop_client

    services = {name: builder(name)(settings) for name in BACKEND if name not in exclude}
    await asyncio.gather(*(s.start() for s in services.values()))
    app = create_app(settings, GatewaySettings(ops_token=OPS_TOKEN))
    try:
        async with in_loop_client(app) as client:
            platform = Platform(client=client, settings=settings, services=services)
            scout = await platform.new_partner(live=True)
            OPS_AS_ANY.update(scout.headers)
            yield platform
    finally:
        await asyncio.gather(*(s.stop() for s in services.values()), return_exceptions=True)


def service_process(
    name: str, settings: PlatformSettings, *more: str, **popen: Any
) -> subprocess.Popen[bytes]:
    """Run one service as its own process against ``settings`` (to kill it for real);
    ``service_process("esd_cli", settings, "services", "orders", "credit")`` runs several."""
    env = dict(os.environ)
    env.update(
        ESD_ENV=settings.env,
        ESD_DATABASE_URL=settings.database_url,
        ESD_AMQP_URL=settings.amqp_url,
        ESD_LOG_LEVEL="WARNING",
    )
    env.update(popen.pop("env", {}))
    return subprocess.Popen([sys.executable, "-m", name, *more], env=env, **popen)


def free_port() -> int:
    """A port the kernel has free now (for a server of the test's own; a server that must come
    back on the same port after a restart wants :func:`tests.faults.servers.free_port`)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@asynccontextmanager
async def serving(platform: Platform) -> AsyncIterator[str]:
    """The platform's gateway app on a free local port (its lifespan already runs), for what
    talks HTTP over a real socket: a browser, the launcher."""
    app = platform.client._transport.app  # type: ignore[attr-defined]
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, lifespan="off", log_level="warning")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 (uvicorn offers no event)
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
