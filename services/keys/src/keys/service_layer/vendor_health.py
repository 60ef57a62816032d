"""Ops view of the vendor APIs: circuit state and error rate, over all workers."""

from __future__ import annotations

from collections import defaultdict

from esd_contracts.keys.queries import (
    GetVendorHealth,
    VendorHealth,
    VendorHealthItem,
    VendorWorkerHealth,
)
from esd_platform.uow import UnitOfWork
from sqlalchemy import text

RECENT = text(
    "SELECT worker, vendor, circuit, calls, failures, updated_at FROM vendor_health "
    "WHERE updated_at > now() - interval '15 minutes' ORDER BY vendor, worker"
)
_SEVERITY = {"closed": 0, "half_open": 1, "open": 2}


async def vendor_health(query: GetVendorHealth, uow: UnitOfWork) -> VendorHealth:
    """Each vendor's worst circuit state and summed window counts, as of each worker's last
    report (workers report on every state change and at most once a second otherwise)."""
    async with uow.engine.connect() as conn:
        rows = (await conn.execute(RECENT)).all()
    by_vendor: dict[str, list[VendorWorkerHealth]] = defaultdict(list)
    for row in rows:
        by_vendor[row.vendor].append(
            VendorWorkerHealth(
                worker=row.worker,
                circuit=row.circuit,
                calls=row.calls,
                failures=row.failures,
                updated_at=row.updated_at,
            )
        )
    items = []
    for vendor, workers in by_vendor.items():
        calls = sum(w.calls for w in workers)
        failures = sum(w.failures for w in workers)
        items.append(
            VendorHealthItem(
                vendor=vendor,
                circuit=max((w.circuit for w in workers), key=_SEVERITY.__getitem__),
                calls=calls,
                failures=failures,
                error_rate=failures / calls if calls else 0.0,
                workers=tuple(workers),
            )
        )
    return VendorHealth(vendors=tuple(items))
