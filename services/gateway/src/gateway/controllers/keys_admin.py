"""Ops: key pools, stock levels and vendor health, from the keys service.

The gateway only reads the upload and checks the product against its catalog replica; the keys
service loads the keys (refusing duplicates with a report), keeps the stock and the StockLow
threshold, and knows each vendor's circuit. A load that times out may still have happened:
sending the same file again is safe, every key already there is refused as ``already_loaded``.
"""

from __future__ import annotations

import uuid
from typing import Any

from esd_contracts.keys.commands import LoadKeyPool, PoolLoaded
from esd_contracts.keys.queries import (
    GetKeyStock,
    GetVendorHealth,
    KeyStock,
    SkuStock,
    VendorHealth,
)
from litestar import Controller, Request, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from sqlalchemy import text

from gateway.adapters.queries import QueryFailed
from gateway.domain.errors import Unavailable
from gateway.domain.key_upload import UploadRefused, read_upload
from gateway.http.bodies import strict_body
from gateway.http.deps import ops_guard
from gateway.http.errors import ApiError
from gateway.http.keys_schemas import (
    DownloadUseList,
    DownloadUseRead,
    KeyStockRead,
    PoolLoadRead,
    RefusedKeyRead,
    SkuStockRead,
    ThresholdUpdate,
    VendorHealthItemRead,
    VendorHealthRead,
    VendorWorkerRead,
)
from gateway.runtime import Gateway

_KEY_SOURCE = text("SELECT key_source FROM products WHERE sku = :sku")
_DOWNLOADS = text(
    "SELECT key_id, order_id, uses, expired_uses, first_used_at, last_used_at "
    "FROM download_uses WHERE order_id = :order_id ORDER BY first_used_at, key_id"
)


async def _pool_product(gateway: Gateway, sku: str) -> None:
    """Pools exist only for products whose keys come from a pool (422 otherwise)."""
    async with gateway.service.engine.connect() as conn:
        source = (await conn.execute(_KEY_SOURCE, {"sku": sku})).scalar()
    if source is None:
        raise ApiError(422, "unknown_sku", f"no product {sku!r} in the catalog")
    if source != "pool":
        raise ApiError(
            422, "validation_error", f"{sku} takes its keys from {source}, not from a pool"
        )


def _meta(gateway: Gateway) -> dict[str, Any]:
    return {"correlation_id": uuid.uuid4(), "occurred_at": gateway.service.clock.now()}


def _stock_read(item: SkuStock) -> SkuStockRead:
    return SkuStockRead(
        sku=item.sku,
        available=item.available,
        issued=item.issued,
        low_threshold=item.low_threshold,
        low=item.low,
    )


async def _load(gateway: Gateway, cmd: LoadKeyPool) -> PoolLoaded:
    try:
        return await gateway.queries.ask(cmd, PoolLoaded)
    except QueryFailed as exc:
        raise Unavailable(
            "the keys service did not answer; the load may still have happened: "
            "send the same file again (keys already loaded are refused, not doubled)"
        ) from exc


class KeysAdminController(Controller):
    path = "/api/v1/admin/keys"
    guards = [ops_guard]  # noqa: RUF012
    tags = ["ops"]  # noqa: RUF012

    @post(
        "/{sku:str}/pool",
        status_code=200,
        summary="Load keys into a sku's pool: a text file (one key a line) or JSON "
        '(["K1", …] or {"keys": […], "low_threshold": N}); a report of what was refused',
    )
    async def load_pool(
        self, sku: FromPath[str], request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> PoolLoadRead:
        try:
            upload = read_upload(await request.body(), request.headers.get("content-type", ""))
        except UploadRefused as exc:
            raise ApiError(exc.status, exc.code, exc.detail) from exc
        await _pool_product(gateway, sku)
        loaded = await _load(
            gateway,
            LoadKeyPool(
                **_meta(gateway), sku=sku, keys=upload.keys, low_threshold=upload.low_threshold
            ),
        )
        return PoolLoadRead(
            sku=loaded.sku,
            submitted=loaded.submitted,
            loaded=loaded.loaded,
            # the service counts positions in the list it got; ops read lines of their file
            refused=[
                RefusedKeyRead(line=upload.lines[r.line - 1], reason=r.reason)
                for r in loaded.refused
            ],
            available=loaded.available,
            low_threshold=loaded.low_threshold,
        )

    @put(
        "/{sku:str}/threshold",
        summary="Set the pool's StockLow threshold (0: off); answers the pool's stock",
    )
    async def set_threshold(
        self, sku: FromPath[str], request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> SkuStockRead:
        data = await strict_body(request, ThresholdUpdate)
        await _pool_product(gateway, sku)
        await _load(
            gateway,
            LoadKeyPool(**_meta(gateway), sku=sku, keys=(), low_threshold=data.low_threshold),
        )
        stock = await _stock(gateway, sku)
        if not stock.items:
            raise Unavailable("the pool is being created; retry shortly")
        return _stock_read(stock.items[0])

    @get("/stock", summary="Free and issued keys per pool, threshold and whether it is low")
    async def stock(
        self, gateway: NamedDependency[Gateway], sku: FromQuery[str | None] = None
    ) -> KeyStockRead:
        answer = await _stock(gateway, sku)
        return KeyStockRead(items=[_stock_read(item) for item in answer.items])

    @get("/vendors", summary="Each vendor API's circuit state and recent error rate")
    async def vendors(self, gateway: NamedDependency[Gateway]) -> VendorHealthRead:
        try:
            answer = await gateway.queries.ask(GetVendorHealth(**_meta(gateway)), VendorHealth)
        except QueryFailed as exc:
            raise Unavailable("the keys service did not answer; retry shortly") from exc
        return VendorHealthRead(
            vendors=[
                VendorHealthItemRead(
                    vendor=v.vendor,
                    circuit=v.circuit,
                    calls=v.calls,
                    failures=v.failures,
                    error_rate=v.error_rate,
                    workers=[
                        VendorWorkerRead(
                            worker=w.worker,
                            circuit=w.circuit,
                            calls=w.calls,
                            failures=w.failures,
                            updated_at=w.updated_at,
                        )
                        for w in v.workers
                    ],
                )
                for v in answer.vendors
            ]
        )

    @get("/downloads", summary="How often each key's download link of an order was used")
    async def downloads(
        self, order_id: FromQuery[uuid.UUID], gateway: NamedDependency[Gateway]
    ) -> DownloadUseList:
        async with gateway.service.engine.connect() as conn:
            rows = (await conn.execute(_DOWNLOADS, {"order_id": order_id})).mappings().all()
        return DownloadUseList(items=[DownloadUseRead(**row) for row in rows])


async def _stock(gateway: Gateway, sku: str | None) -> KeyStock:
    try:
        return await gateway.queries.ask(GetKeyStock(**_meta(gateway), sku=sku), KeyStock)
    except QueryFailed as exc:
        raise Unavailable("the keys service did not answer; retry shortly") from exc


ROUTES: list[type] = [KeysAdminController]
