"""The demo catalog, written once into an empty catalog at service start.

Safe with several instances starting together: the check and the insert run under one
transaction-scoped advisory lock, so the second instance waits and then finds the catalog full.
Every seeded product is announced with a ``ProductChanged`` staged in the same transaction.
"""

from __future__ import annotations

import time

from esd_platform.clock import Clock
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork

from catalog.adapters import repository
from catalog.domain.demo_catalog import CATEGORIES, DemoCatalog, build_demo_catalog
from catalog.domain.model import CategoryTree
from catalog.service_layer.publishing import product_changed

log = get_logger("esd.catalog.seeding")


async def seed_demo_catalog(
    uow: UnitOfWork,
    clock: Clock,
    catalog: DemoCatalog | None = None,
    *,
    with_products: bool = True,
    compact: bool = False,
) -> int:
    """Seed ``catalog`` (the demo catalog by default, ``compact`` or whole) if no product
    exists; returns how many. The demo catalog is built only then, not at every start.

    Without ``with_products`` only the category tree is ensured.
    """
    started = time.perf_counter()
    async with uow.transaction() as tx:
        await repository.lock_catalog_writes(tx.conn)
        # the category tree is reference data: present with or without the demo products
        await repository.add_categories(tx.conn, CATEGORIES)
        if not with_products:
            return 0
        if await repository.has_products(tx.conn):
            log.info("catalog_seed_skipped", reason="catalog_not_empty")
            return 0
        demo = catalog or build_demo_catalog(compact=compact)
        now = clock.now()
        await repository.add_vendors(tx.conn, demo.vendors)
        await repository.add_categories(tx.conn, demo.categories)
        await repository.save_products(tx.conn, demo.products, now)
        vendors = {v.id: v.name for v in demo.vendors}
        categories = CategoryTree(demo.categories)
        tx.publish(
            *(
                product_changed(p, vendors=vendors, categories=categories, now=now)
                for p in demo.products
            )
        )
    log.info(
        "catalog_seeded",
        products=len(demo.products),
        vendors=len(demo.vendors),
        seconds=round(time.perf_counter() - started, 3),
    )
    return len(demo.products)
