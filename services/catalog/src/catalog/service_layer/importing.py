"""Ops imports a vendor's price list: upsert by sku, one ``ProductChanged`` per change, and a
report of every row. Rows are planned by the pure :mod:`catalog.domain.importing`; this module
loads what the plan needs and writes what it decided, in one transaction with the events."""

from __future__ import annotations

import time

from esd_contracts.catalog.commands import (
    ImportedRow,
    ImportPriceList,
    PriceListImported,
    RefusedRow,
)
from esd_platform.clock import Clock
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork

from catalog.adapters import repository
from catalog.domain.importing import Directory, ImportPlan, Outcome, Refusal, plan_import
from catalog.domain.model import CategoryTree
from catalog.domain.price_list import ParsedPriceList, decode, parse_csv, parse_json
from catalog.service_layer.publishing import product_changed

log = get_logger("esd.catalog.importing")


def read_price_list(cmd: ImportPriceList) -> ParsedPriceList:
    try:
        content = decode(cmd.content_base64) if cmd.content_base64 else cmd.content
    except ValueError as exc:
        return ParsedPriceList(errors=[(0, str(exc))])
    parsed = parse_csv(content) if cmd.format == "csv" else parse_json(content)
    if parsed.rows and "sku" not in parsed.columns:
        lines = [row.line for row in parsed.rows]
        parsed = ParsedPriceList(
            columns=parsed.columns,
            errors=[
                *parsed.errors,
                *((line, "the price list has no sku column (sku, Артикул…)") for line in lines),
            ],
        )
    return parsed


def report(plan: ImportPlan, dry_run: bool) -> PriceListImported:
    def rows(outcomes: list[Outcome]) -> tuple[ImportedRow, ...]:
        return tuple(ImportedRow(line=o.line, sku=o.sku, changes=o.changes) for o in outcomes)

    return PriceListImported(
        rows=plan.rows,
        added=rows(plan.added),
        changed=rows(plan.changed),
        unchanged=plan.unchanged,
        retired=rows(plan.retired),
        refused=tuple(
            RefusedRow(line=r.line, sku=r.sku, reason=r.reason)
            for r in sorted(plan.refused, key=lambda r: r.line)
        ),
        dry_run=dry_run,
    )


async def import_price_list(
    cmd: ImportPriceList, uow: UnitOfWork, clock: Clock
) -> PriceListImported:
    started = time.perf_counter()
    parsed = read_price_list(cmd)
    async with uow.transaction() as tx:
        await repository.lock_catalog_writes(tx.conn)
        categories = await repository.all_categories(tx.conn)
        directory = Directory(await repository.all_vendors(tx.conn), categories)
        skus = [str(row.cells.get("sku") or "").strip() for row in parsed.rows]
        existing = await repository.get_products(tx.conn, [s for s in skus if s])
        retire_of = None
        vendor_products = []
        if cmd.retire_missing and cmd.vendor:
            retire_of = directory.vendor(cmd.vendor).id
            vendor_products = await repository.products_of_vendor(tx.conn, retire_of)
        plan = plan_import(
            parsed.rows,
            existing,
            directory,
            default_vendor=cmd.vendor,
            retire_missing_of=retire_of,
            vendor_products=vendor_products,
            unreadable=parsed.errors,
            day=clock.today_moscow(),
            retire_predecessors=cmd.retire_predecessors,
        )
        if cmd.retire_missing and not cmd.vendor:
            plan.refused.append(
                plan_refusal("retire_missing needs the vendor whose complete list this is")
            )
        if not cmd.dry_run and plan.products:
            now = clock.now()
            await repository.add_vendors(tx.conn, plan.vendors)
            await repository.save_products(tx.conn, plan.products, now)
            vendors = {v.id: v.name for v in directory.vendors.values()}
            tree = CategoryTree(categories)
            tx.publish(
                *(
                    product_changed(p, vendors=vendors, categories=tree, now=now)
                    for p in plan.products
                )
            )
    answer = report(plan, cmd.dry_run)
    log.info(
        "price_list_imported",
        filename=cmd.filename,
        rows=answer.rows,
        added=len(answer.added),
        changed=len(answer.changed),
        retired=len(answer.retired),
        refused=len(answer.refused),
        unchanged=answer.unchanged,
        dry_run=cmd.dry_run,
        seconds=round(time.perf_counter() - started, 3),
    )
    return answer


def plan_refusal(reason: str) -> Refusal:
    return Refusal(0, None, reason)
