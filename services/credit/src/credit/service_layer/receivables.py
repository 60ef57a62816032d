"""Use cases of receivables: post payments (one, a list, a bank statement), pay new documents
from unallocated money, announce overdue blocks and their lifting, the aging report."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import csv
import io
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from esd_contracts.credit.commands import PostBankStatement, PostPayment, PostPayments
from esd_contracts.credit.events import (
    PartnerBlocked,
    PartnerUnblocked,
    PaymentAllocated,
    PaymentReceived,
)
from esd_contracts.credit.queries import (
    AgingRow,
    CreditHistory,
    GetCreditHistory,
    GetReceivablesAging,
    PaymentAllocation,
    PaymentEntry,
    PaymentsPosted,
    PostedPayment,
    ReceivablesAging,
    StatementProblem,
    TermsEntry,
)
from esd_contracts.envelope import Message
from esd_platform.clock import moscow_day
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork
from sqlalchemy.ext.asyncio import AsyncConnection

from credit.adapters import receivables as db
from credit.domain import bank_statement
from credit.domain.model import ZERO, money
from credit.domain.payments import (
    AllocationPlan,
    allocate_in_turn,
    document_refs,
    payment_id,
    still_open,
)
from credit.service_layer import feed

log = get_logger("esd.credit.receivables")

CHUNK = 2500
"""Payments per transaction (a payer's payments are never split): few round trips and outbox
wake-ups for a 10,000-payment statement, row locks still held for well under a second each."""

SWEEP_INTERVAL = 1.0
"""Seconds between looks for partners whose debt became overdue (or was paid)."""

NIL = uuid.UUID(int=0)


@dataclass(frozen=True)
class PaymentInput:
    """A payment as read from any source, before it is matched to a partner."""

    payer_inn: str
    amount: Decimal
    date: date
    number: str
    purpose: str = ""
    payer_kpp: str | None = None
    payer_name: str | None = None
    line: int | None = None


@dataclass
class Outcome:
    posted: list[PostedPayment]
    problems: list[StatementProblem]
    events: list[Message]


# -- posting ----------------------------------------------------------------------------------


async def post_payments(cmd: PostPayments, uow: UnitOfWork) -> PaymentsPosted:
    """Request/reply: book a list of payments and answer where each one's money went."""
    inputs = [
        PaymentInput(
            payer_inn=p.payer_inn.strip(),
            amount=money(p.amount),
            date=p.date,
            number=p.number.strip(),
            purpose=p.purpose,
            payer_kpp=p.payer_kpp,
            payer_name=p.payer_name,
        )
        for p in cmd.payments
    ]
    return await _post_in_chunks(inputs, [], uow, source="ops")


async def post_bank_statement(cmd: PostBankStatement, uow: UnitOfWork) -> PaymentsPosted:
    """Request/reply: parse a 1CClientBankExchange file, book its incoming payments, answer."""
    try:
        content = base64.b64decode(cmd.content_base64, validate=True)
    except (binascii.Error, ValueError):
        problem = StatementProblem(code="invalid_file", detail="content_base64 is not base64")
        return PaymentsPosted(payments=(), problems=(problem,))
    statement = bank_statement.parse(content)
    problems = [
        StatementProblem(line=p.line, number=p.number, code=p.code, detail=p.detail)
        for p in statement.problems
    ]
    inputs = [
        PaymentInput(
            payer_inn=p.payer_inn,
            amount=p.amount,
            date=p.date,
            number=p.number,
            purpose=p.purpose,
            payer_kpp=p.payer_kpp,
            payer_name=p.payer_name,
            line=p.line,
        )
        for p in statement.payments
    ]
    log.info(
        "bank_statement_read",
        filename=cmd.filename,
        encoding=statement.encoding,
        version=statement.version,
        payments=len(inputs),
        problems=len(problems),
        outgoing=statement.outgoing,
    )
    return await _post_in_chunks(inputs, problems, uow, source="statement")


async def post_payment(cmd: PostPayment, uow: UnitOfWork) -> None:
    """The durable command: book one payment; the outcome leaves as events (or a log line for an
    unknown payer, which ops re-posts once the partner exists)."""
    payment = PaymentInput(
        payer_inn=cmd.payer_inn.strip(),
        amount=money(cmd.amount),
        date=cmd.date,
        number=cmd.number.strip(),
        purpose=cmd.purpose,
        payer_kpp=cmd.payer_kpp,
        payer_name=cmd.payer_name,
    )
    now = uow.clock.now()
    async with uow.transaction(cmd.message_id) as tx:
        if tx.duplicate:
            return
        outcome = await _post(tx.conn, [payment], now=now, source="command")
        await feed.publish(tx, outcome.events)
    for problem in outcome.problems:
        log.warning("payment_not_booked", number=cmd.number, code=problem.code)


async def _post_in_chunks(
    inputs: Sequence[PaymentInput],
    problems: list[StatementProblem],
    uow: UnitOfWork,
    *,
    source: str,
) -> PaymentsPosted:
    """Book ``inputs`` a chunk per transaction, each payer's payments whole in one chunk (one
    allocation pass per partner, in the order given); the answer keeps the order given."""
    answers: list[tuple[int, PostedPayment]] = []
    refused: list[tuple[int, StatementProblem]] = []
    for chunk in _chunks_by_payer(inputs):
        now = uow.clock.now()
        async with uow.transaction() as tx:
            outcome = await _post(tx.conn, [inputs[i] for i in chunk], now=now, source=source)
            await feed.publish(tx, outcome.events)
        answers.extend(zip(chunk, outcome.posted, strict=True))
        # one problem per payment answered unknown/ambiguous, in the same order
        unmatched = [i for i, p in zip(chunk, outcome.posted, strict=True) if p.partner_id is None]
        refused.extend(zip(unmatched, outcome.problems, strict=True))
    posted = [p for _, p in sorted(answers, key=lambda a: a[0])]
    problems.extend(p for _, p in sorted(refused, key=lambda r: r[0]))
    log.info(
        "payments_posted",
        source=source,
        payments=len(posted),
        new=sum(1 for p in posted if p.status == "posted"),
        problems=len(problems),
    )
    return PaymentsPosted(payments=tuple(posted), problems=tuple(problems))


def _chunks_by_payer(inputs: Sequence[PaymentInput]) -> list[list[int]]:
    """Indexes of ``inputs`` in chunks of about :data:`CHUNK`, never splitting one payer's
    payments (their order kept), payers in the order they first appear."""
    by_payer: dict[str, list[int]] = defaultdict(list)
    for i, p in enumerate(inputs):
        by_payer[p.payer_inn].append(i)
    chunks: list[list[int]] = []
    current: list[int] = []
    for indexes in by_payer.values():
        current.extend(indexes)
        if len(current) >= CHUNK:
            chunks.append(current)
            current = []
    if current:
        chunks.append(current)
    return chunks


async def _post(
    conn: AsyncConnection, inputs: Sequence[PaymentInput], *, now: datetime, source: str
) -> Outcome:
    """Match, book (once), allocate, lift blocks; in the caller's transaction."""
    today = moscow_day(now)
    outcome = Outcome([], [], [])
    by_inn = await db.payers(conn, (p.payer_inn for p in inputs))
    matched: list[tuple[PaymentInput, uuid.UUID | None, uuid.UUID | None]] = []
    for p in inputs:
        partner, problem = _match(p, by_inn.get(p.payer_inn, []))
        if problem is not None:
            outcome.problems.append(problem)
        pid = payment_id(p.payer_inn, p.number, p.date) if partner is not None else None
        matched.append((p, partner, pid))
    partners = {partner for _, partner, _ in matched if partner is not None}
    await db.lock_lines(conn, partners)
    candidates: dict[uuid.UUID, db.NewPayment] = {}
    for p, partner, pid in matched:
        if partner is not None and pid is not None and pid not in candidates:
            candidates[pid] = db.NewPayment(
                pid, partner, p.payer_inn, p.number, p.date, p.amount, p.purpose, p.payer_name
            )
    new_ids = await db.insert_payments(conn, list(candidates.values()), source=source, now=now)

    # allocate the new payments, partner by partner, in the order they were given
    new_by_partner: dict[uuid.UUID, list[tuple[uuid.UUID, Decimal, list]]] = defaultdict(list)  # type: ignore[type-arg]
    purposes: dict[uuid.UUID, PaymentInput] = {}
    for p, partner, pid in matched:
        if pid in new_ids and pid not in purposes and partner is not None and pid is not None:
            purposes[pid] = p
            new_by_partner[partner].append((pid, p.amount, document_refs(p.purpose)))
    documents = await db.open_documents(conn, new_by_partner)
    plans: dict[uuid.UUID, AllocationPlan] = {}
    rows: list[db.AllocationRow] = []
    for partner, payments in new_by_partner.items():
        partner_plans = allocate_in_turn(payments, documents.get(partner, []))
        plans.update(partner_plans)
        owed = still_open(documents.get(partner, []), partner_plans.values())
        for pid, plan in partner_plans.items():
            p = purposes[pid]
            outcome.events.append(
                PaymentReceived(
                    correlation_id=partner,
                    occurred_at=now,
                    payment_id=pid,
                    partner_id=partner,
                    payer_inn=p.payer_inn,
                    number=p.number,
                    date=p.date,
                    amount=p.amount,
                    purpose=p.purpose,
                )
            )
            for a in plan.allocations:
                rows.append(db.AllocationRow(pid, partner, a.document_number, a.amount))
                outcome.events.append(
                    PaymentAllocated(
                        correlation_id=partner,
                        occurred_at=now,
                        payment_id=pid,
                        partner_id=partner,
                        document_number=a.document_number,
                        amount=a.amount,
                        payment_date=p.date,
                        document_paid=owed.get(a.document_number, ZERO) <= 0,
                    )
                )
    await db.apply_allocations(conn, rows, now)
    for partner in await db.mark_unblocked(conn, today, new_by_partner):
        outcome.events.append(_unblocked(partner, now))

    duplicates = await db.stored_payments(
        conn, (pid for _, _, pid in matched if pid is not None and pid not in plans)
    )
    answered: set[uuid.UUID] = set()
    for p, partner, pid in matched:
        if partner is None or pid is None:
            ambiguous = bool(by_inn.get(p.payer_inn))
            outcome.posted.append(
                PostedPayment(
                    number=p.number,
                    partner_id=None,
                    amount=p.amount,
                    allocations=(),
                    unallocated=ZERO,
                    date=p.date,
                    payer_inn=p.payer_inn,
                    status="ambiguous_payer" if ambiguous else "unknown_payer",
                )
            )
        elif pid in plans and pid not in answered:
            answered.add(pid)
            plan = plans[pid]
            outcome.posted.append(
                PostedPayment(
                    number=p.number,
                    partner_id=partner,
                    amount=p.amount,
                    allocations=tuple(
                        PaymentAllocation(document=a.document_number, amount=a.amount)
                        for a in plan.allocations
                    ),
                    unallocated=plan.unallocated,
                    date=p.date,
                    payer_inn=p.payer_inn,
                    status="posted",
                )
            )
        else:
            stored = duplicates.get(pid)
            if stored is None:  # the same payment twice in this very request
                plan = plans[pid]
                allocations = tuple((a.document_number, a.amount) for a in plan.allocations)
                unallocated, amount = plan.unallocated, p.amount
            else:
                allocations, unallocated, amount = (
                    stored.allocations,
                    stored.unallocated,
                    stored.amount,
                )
            outcome.posted.append(
                PostedPayment(
                    number=p.number,
                    partner_id=partner,
                    amount=amount,
                    allocations=tuple(
                        PaymentAllocation(document=d, amount=a) for d, a in allocations
                    ),
                    unallocated=unallocated,
                    date=p.date,
                    payer_inn=p.payer_inn,
                    status="duplicate",
                )
            )
    return outcome


def _match(
    payment: PaymentInput, candidates: list[db.Payer]
) -> tuple[uuid.UUID | None, StatementProblem | None]:
    """The partner a payment is from: by ИНН, and by КПП when branches share an ИНН."""
    if len(candidates) > 1 and payment.payer_kpp:
        by_kpp = [c for c in candidates if c.kpp == payment.payer_kpp]
        candidates = by_kpp or candidates
    if len(candidates) == 1:
        return candidates[0].partner_id, None
    code, detail = (
        ("unknown_payer", f"no partner has ИНН {payment.payer_inn}; nothing booked")
        if not candidates
        else ("ambiguous_payer", f"{len(candidates)} partners share ИНН {payment.payer_inn}")
    )
    # an ambiguous payer is not guessed: money booked to the wrong partner is worse than none
    return None, StatementProblem(
        line=payment.line, number=payment.number, code=code, detail=detail
    )


# -- new documents consume unallocated money ---------------------------------------------------


async def consume_unallocated(
    conn: AsyncConnection, partner_id: uuid.UUID, now: datetime
) -> list[Message]:
    """Pay the partner's open documents from payments' unallocated money, oldest payment first.
    Called where a document's debt grows (a capture) with the partner's row already locked."""
    payments = await db.unallocated_payments(conn, partner_id)
    if not payments:
        return []
    documents = (await db.open_documents(conn, [partner_id])).get(partner_id, [])
    plans = allocate_in_turn([(p.id, p.unallocated, []) for p in payments], documents)
    owed = still_open(documents, plans.values())
    dates = {p.id: p.payment_date for p in payments}
    rows: list[db.AllocationRow] = []
    events: list[Message] = []
    for pid, plan in plans.items():
        for a in plan.allocations:
            rows.append(db.AllocationRow(pid, partner_id, a.document_number, a.amount))
            events.append(
                PaymentAllocated(
                    correlation_id=partner_id,
                    occurred_at=now,
                    payment_id=pid,
                    partner_id=partner_id,
                    document_number=a.document_number,
                    amount=a.amount,
                    payment_date=dates[pid],
                    document_paid=owed.get(a.document_number, ZERO) <= 0,
                )
            )
    await db.apply_allocations(conn, rows, now)
    for partner in await db.mark_unblocked(conn, moscow_day(now), [partner_id]):
        events.append(_unblocked(partner, now))
    return events


# -- overdue blocks ---------------------------------------------------------------------------


async def sweep_blocks(uow: UnitOfWork) -> tuple[int, int]:
    """Announce partners that became overdue (time passed) or were paid up; once each."""
    now = uow.clock.now()
    today = moscow_day(now)
    async with uow.transaction() as tx:
        blocked = await db.mark_blocked(tx.conn, today, now)
        unblocked = await db.mark_unblocked(tx.conn, today)
        events: list[Message] = []
        for b in blocked:
            events.append(
                PartnerBlocked(
                    correlation_id=b.partner_id,
                    occurred_at=now,
                    partner_id=b.partner_id,
                    overdue_amount=b.overdue_amount,
                    oldest_due_date=b.oldest_due_date,
                )
            )
            log.info(
                "partner_blocked",
                partner_id=str(b.partner_id),
                overdue_amount=str(b.overdue_amount),
            )
        for partner in unblocked:
            events.append(_unblocked(partner, now))
            log.info("partner_unblocked", partner_id=str(partner))
        await feed.publish(tx, events)
    return len(blocked), len(unblocked)


class BlockSweeper:
    """A background loop running :func:`sweep_blocks` every :data:`SWEEP_INTERVAL` seconds."""

    def __init__(self, uow: UnitOfWork, interval: float = SWEEP_INTERVAL) -> None:
        self._uow = uow
        self._interval = interval
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="credit-block-sweeper")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                await sweep_blocks(self._uow)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("block_sweep_failed")
            await asyncio.sleep(self._interval)


def _unblocked(partner: uuid.UUID, now: datetime) -> PartnerUnblocked:
    return PartnerUnblocked(correlation_id=partner, occurred_at=now, partner_id=partner)


# -- aging report -----------------------------------------------------------------------------

AGING_COLUMNS = (
    "partner_id",
    "inn",
    "company_name",
    "current",
    "overdue_1_7",
    "overdue_8_30",
    "overdue_30_plus",
    "total",
)


async def receivables_aging(query: GetReceivablesAging, uow: UnitOfWork) -> ReceivablesAging:
    """Each partner's unpaid debt by days past due on ``query.on`` (today by default)."""
    on = query.on or uow.clock.today_moscow()
    async with uow.engine.connect() as conn:
        lines = await db.aging(conn, on)
    rows = tuple(
        AgingRow(
            partner_id=line.partner_id,
            inn=line.inn,
            company_name=line.company_name,
            current=line.current,
            overdue_1_7=line.overdue_1_7,
            overdue_8_30=line.overdue_8_30,
            overdue_30_plus=line.overdue_30_plus,
            total=line.total,
        )
        for line in lines
    )
    totals = AgingRow(
        partner_id=NIL,
        inn=None,
        company_name="total",
        current=sum((r.current for r in rows), ZERO),
        overdue_1_7=sum((r.overdue_1_7 for r in rows), ZERO),
        overdue_8_30=sum((r.overdue_8_30 for r in rows), ZERO),
        overdue_30_plus=sum((r.overdue_30_plus for r in rows), ZERO),
        total=sum((r.total for r in rows), ZERO),
    )
    report = ReceivablesAging(on=on, rows=rows, totals=totals)
    if query.format == "csv":
        report = report.model_copy(update={"csv": aging_csv(report)})
    return report


def aging_csv(report: ReceivablesAging) -> str:
    """The report as CSV (comma-separated, header row, a final totals row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(AGING_COLUMNS)
    for row in (*report.rows, report.totals):
        data = row.model_dump(mode="json")
        writer.writerow(["" if data[c] is None else data[c] for c in AGING_COLUMNS])
    return out.getvalue()


# -- ops: a partner's terms history and payments ---------------------------------------------


async def credit_history(query: GetCreditHistory, uow: UnitOfWork) -> CreditHistory:
    """The partner's terms history and payments (newest first, with their allocations)."""
    async with uow.engine.connect() as conn:
        terms = await db.terms_history(conn, query.partner_id)
        if not terms:
            return CreditHistory(found=False)
        payments = await db.partner_payments(
            conn, query.partner_id, query.date_from, query.date_to, query.limit
        )
    return CreditHistory(
        found=True,
        terms=tuple(
            TermsEntry(
                limit=t.credit_limit,
                term_days=t.term_days,
                source=t.source,
                effective_at=t.effective_at,
            )
            for t in terms
        ),
        payments=tuple(
            PaymentEntry(
                payment_id=p.id,
                number=p.number,
                date=p.payment_date,
                amount=p.amount,
                unallocated=p.unallocated,
                payer_inn=p.payer_inn,
                purpose=p.purpose,
                source=p.source,
                posted_at=p.posted_at,
                allocations=tuple(PaymentAllocation(document=d, amount=a) for d, a in allocations),
            )
            for p, allocations in payments
        ),
    )
