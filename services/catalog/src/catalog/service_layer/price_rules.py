"""Setting a partner's or a distributor's price rule: checked, stored with the next revision,
announced as ``PriceRuleChanged`` in the same transaction. Setting the same rule again is a
no-op that answers the current revision (so a retried request publishes nothing new)."""

from __future__ import annotations

import json
from typing import Any

from esd_contracts.catalog.commands import PriceRuleSet, SetPriceRule
from esd_contracts.catalog.events import PriceAdjustment, PriceRuleChanged
from esd_feeds.pricing import Adjustment
from esd_platform.clock import Clock
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork

from catalog.adapters import repository
from catalog.domain.price_rules import rule_problems

log = get_logger("esd.catalog.price_rules")


def to_domain(adjustment: PriceAdjustment) -> Adjustment:
    return Adjustment(
        percent=adjustment.percent,
        fixed_price=adjustment.fixed_price,
        sku=adjustment.sku,
        vendor_id=adjustment.vendor_id,
        category_id=adjustment.category_id,
    )


def _canonical(adjustments: tuple[PriceAdjustment, ...]) -> list[dict[str, Any]]:
    return [json.loads(a.model_dump_json()) for a in adjustments]


async def set_price_rule(cmd: SetPriceRule, uow: UnitOfWork, clock: Clock) -> PriceRuleSet:
    adjustments = () if cmd.remove else cmd.adjustments
    async with uow.transaction() as tx:
        await repository.lock_catalog_writes(tx.conn)
        named_skus = [a.sku for a in adjustments if a.sku is not None]
        found = rule_problems(
            [to_domain(a) for a in adjustments],
            skus=await repository.existing_skus(tx.conn, named_skus),
            vendors={v.id for v in await repository.all_vendors(tx.conn)},
            categories={c.id for c in await repository.all_categories(tx.conn)},
        )
        current = await repository.get_price_rule(tx.conn, cmd.scope, cmd.owner_id)
        revision = current.revision if current else 0
        if found:
            log.info("price_rule_refused", scope=cmd.scope, owner_id=str(cmd.owner_id))
            return PriceRuleSet(accepted=False, revision=revision, problems=tuple(found))
        stored = _canonical(adjustments)
        if current is not None:
            before = current.adjustments
            if isinstance(before, str):
                before = json.loads(before)
            if before == stored and bool(current.removed) == cmd.remove:
                return PriceRuleSet(accepted=True, revision=revision)
        elif cmd.remove:
            return PriceRuleSet(accepted=True, revision=0)
        revision += 1
        now = clock.now()
        await repository.save_price_rule(
            tx.conn, cmd.scope, cmd.owner_id, revision, json.dumps(stored), cmd.remove, now
        )
        tx.publish(
            PriceRuleChanged(
                correlation_id=cmd.owner_id,
                occurred_at=now,
                scope=cmd.scope,
                owner_id=cmd.owner_id,
                revision=revision,
                adjustments=adjustments,
                removed=cmd.remove,
            )
        )
    log.info(
        "price_rule_set",
        scope=cmd.scope,
        owner_id=str(cmd.owner_id),
        revision=revision,
        lines=len(adjustments),
        removed=cmd.remove,
    )
    return PriceRuleSet(accepted=True, revision=revision)
