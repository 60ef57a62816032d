"""Closing days and replaying the finance feed.

A document closes at the end of its Moscow day (plus a grace period) and is immutable after: a
database trigger refuses any change to a closed document's lines or totals. Closing checks that
the running totals equal the sum of the lines to the kopeck and announces DocumentClosed.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from esd_contracts.billing.commands import FinanceEventsReplayed, ReplayFinanceEvents
from esd_contracts.envelope import Message
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork

from billing.adapters import repository
from billing.adapters import subscriptions as subscriptions_db
from billing.domain.documents import ClosingMismatch
from billing.domain.vat import RateTotal, totals_by_rate
from billing.service_layer import finance, subscriptions

log = get_logger("esd.billing.closing")

CLOSE_BATCH = 1000
"""Documents closed per transaction: short transactions, steady progress on a big day."""


async def close_days(uow: UnitOfWork, before: date, batch: int = CLOSE_BATCH) -> int:
    """Close every open document dated before ``before``; returns how many were closed.

    Several instances may run this at once: each batch takes its documents with
    ``FOR UPDATE SKIP LOCKED``, and the trigger keeps a closed document closed.
    """
    closed = 0
    while True:
        async with uow.transaction() as tx:
            ids = await repository.close_before(tx.conn, before, uow.clock.now(), batch)
            if not ids:
                break
            sums = await repository.line_sums(tx.conn, ids)
            documents = await repository.load_by_ids(tx.conn, ids)
            events: list[Message] = []
            for document in documents:
                totals = _rate_totals(sums.get(document.id, []))
                _check(
                    document.number,
                    document.amount,
                    document.vat_amount,
                    document.line_count,
                    totals,
                    sums.get(document.id, []),
                )
                events.append(finance.document_closed(document, totals))
            tx.publish(*events)
        closed += len(ids)
        log.info("documents_closed", count=len(ids), before=before.isoformat())
        if len(ids) < batch:
            break
    return closed


def _rate_totals(sums: list[tuple[str, int, Decimal, Decimal]]) -> tuple[RateTotal, ...]:
    return totals_by_rate((rate, amount, vat) for rate, _, amount, vat in sums)


def _check(
    number: str,
    amount: Decimal,
    vat_amount: Decimal,
    line_count: int,
    totals: tuple[RateTotal, ...],
    sums: list[tuple[str, int, Decimal, Decimal]],
) -> None:
    lines = sum(n for _, n, _, _ in sums)
    if (
        sum((t.amount for t in totals), Decimal(0)) != amount
        or sum((t.vat_amount for t in totals), Decimal(0)) != vat_amount
        or lines != line_count
    ):
        raise ClosingMismatch(
            f"document {number}: totals {amount}/{vat_amount}/{line_count} differ from its lines"
        )


async def replay(cmd: ReplayFinanceEvents, uow: UnitOfWork) -> FinanceEventsReplayed:
    """Re-emit the finance events of documents dated in [date_from, date_to] (only one document
    or one partner's, when the command names them), day by day, with the ids and bodies they
    were first emitted with (a ledger that has them drops them)."""
    lines = closed = charges = 0
    day = cmd.date_from
    if cmd.number is not None:
        # one document: one pass over its own date instead of every day of the period
        async with uow.engine.connect() as conn:
            found = await repository.load_documents(
                conn, number=cmd.number, partner_id=cmd.partner_id, with_lines=False
            )
        if not found or not cmd.date_from <= found[0].date <= cmd.date_to:
            return FinanceEventsReplayed(
                date_from=cmd.date_from, date_to=cmd.date_to, lines=0, closed=0
            )
        day = last = found[0].date
    else:
        last = cmd.date_to
    while day <= last:
        async with uow.transaction() as tx:
            documents = await repository.load_documents(
                tx.conn,
                date_from=day,
                date_to=day,
                number=cmd.number,
                partner_id=cmd.partner_id,
            )
            events: list[Message] = []
            for document in documents:
                events.extend(
                    finance.line_added(
                        partner_id=document.partner_id,
                        number=document.number,
                        date=document.date,
                        line=line,
                    )
                    for line in document.lines
                )
                lines += len(document.lines)
                if document.closed:
                    events.append(finance.document_closed(document, document.vat_totals))
                    closed += 1
            for charge in await subscriptions_db.charges_on(
                tx.conn, day, partner_id=cmd.partner_id, number=cmd.number
            ):
                events.append(subscriptions.charged_event(charge))
                charges += 1
            tx.publish(*events)
        day += timedelta(days=1)
    log.info(
        "finance_replayed",
        date_from=cmd.date_from.isoformat(),
        date_to=cmd.date_to.isoformat(),
        lines=lines,
        closed=closed,
        charges=charges,
    )
    return FinanceEventsReplayed(
        date_from=cmd.date_from,
        date_to=cmd.date_to,
        lines=lines,
        closed=closed,
        charges=charges,
    )
