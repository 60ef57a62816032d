"""Ops work on key pools: loading keys (duplicates refused with a report), stock levels, and
the StockLow alarm that fires once each time a pool falls under its threshold."""

from __future__ import annotations

import uuid

from esd_contracts.keys.commands import LoadKeyPool, PoolLoaded, RefusedPoolKey
from esd_contracts.keys.events import StockLow
from esd_contracts.keys.queries import GetKeyStock, KeyStock, SkuStock
from esd_platform.clock import Clock
from esd_platform.logging import get_logger
from esd_platform.uow import Transaction, UnitOfWork

from keys.adapters import repository
from keys.adapters.crypto import normalise
from keys.adapters.sources import Sealer
from keys.domain.model import SealedKey, stock_is_low

log = get_logger("esd.keys.pool")


async def load_key_pool(
    cmd: LoadKeyPool, uow: UnitOfWork, sealer: Sealer, clock: Clock, default_threshold: int
) -> PoolLoaded:
    """Add the new keys to the sku's pool; report every key not added, by its position."""
    refused: list[RefusedPoolKey] = []
    candidates: list[tuple[int, SealedKey]] = []
    seen: set[bytes] = set()
    for line, raw in enumerate(cmd.keys, start=1):
        plain = normalise(raw)
        if not plain:
            refused.append(RefusedPoolKey(line=line, reason="empty"))
            continue
        key_hash = sealer.hasher.digest(plain)
        if key_hash in seen:
            refused.append(RefusedPoolKey(line=line, reason="duplicate_in_request"))
            continue
        seen.add(key_hash)
        candidates.append((line, SealedKey(key_hash, "")))
    async with uow.transaction() as tx:
        issued = await repository.issued_hashes(tx.conn, [k.key_hash for _, k in candidates])
        fresh = [(line, k) for line, k in candidates if k.key_hash not in issued]
        refused += [
            RefusedPoolKey(line=line, reason="already_issued")
            for line, k in candidates
            if k.key_hash in issued
        ]
        plain_by_line = {line: normalise(cmd.keys[line - 1]) for line, _ in fresh}
        sealed = [
            SealedKey(k.key_hash, sealer.cipher.seal(plain_by_line[line])) for line, k in fresh
        ]
        inserted = await repository.load_pool_keys(tx.conn, cmd.sku, sealed, clock.now())
        refused += [
            RefusedPoolKey(line=line, reason="already_loaded")
            for line, k in fresh
            if k.key_hash not in inserted
        ]
        threshold = await repository.set_threshold(
            tx.conn, cmd.sku, cmd.low_threshold, default_threshold
        )
        level = await repository.pool_level(tx.conn, cmd.sku, default_threshold)
        if stock_is_low(level.available, level.low_threshold):
            await _alarm(tx, cmd.sku, level, clock, cmd.correlation_id)
        else:
            await repository.rearm_stock_alarm(tx.conn, cmd.sku)
    log.info(
        "key_pool_loaded",
        sku=cmd.sku,
        submitted=len(cmd.keys),
        loaded=len(inserted),
        refused=len(refused),
        available=level.available,
    )
    return PoolLoaded(
        sku=cmd.sku,
        submitted=len(cmd.keys),
        loaded=len(inserted),
        refused=tuple(sorted(refused, key=lambda r: r.line)),
        available=level.available,
        low_threshold=threshold,
    )


async def check_stock_after_claim(
    tx: Transaction, sku: str, clock: Clock, default_threshold: int, correlation_id: uuid.UUID
) -> None:
    """After a pool order took keys: StockLow if this claim took the pool under its threshold."""
    level = await repository.pool_level(tx.conn, sku, default_threshold)
    if stock_is_low(level.available, level.low_threshold):
        await _alarm(tx, sku, level, clock, correlation_id)


async def _alarm(
    tx: Transaction, sku: str, level: repository.PoolLevel, clock: Clock, correlation_id: uuid.UUID
) -> None:
    if await repository.raise_stock_alarm(tx.conn, sku, level.low_threshold):
        tx.publish(
            StockLow(
                correlation_id=correlation_id,
                occurred_at=clock.now(),
                sku=sku,
                available=level.available,
                low_threshold=level.low_threshold,
            )
        )
        log.warning(
            "stock_low", sku=sku, available=level.available, low_threshold=level.low_threshold
        )


async def key_stock(query: GetKeyStock, uow: UnitOfWork, default_threshold: int) -> KeyStock:
    async with uow.engine.connect() as conn:
        rows = await repository.stock(conn, query.sku, default_threshold)
    return KeyStock(
        items=tuple(
            SkuStock(
                sku=row.sku,
                available=row.available,
                issued=row.issued,
                low_threshold=row.low_threshold,
                low=stock_is_low(row.available, row.low_threshold),
            )
            for row in rows
        )
    )
