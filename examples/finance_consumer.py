"""A sample downstream consumer of esd's finance feed: a running general ledger.

Everything finance needs is on the durable ``finance.events`` exchange (one queue per event type,
``finance.<Event>``, owned by the finance system): billing publishes ``DocumentLineAdded``,
``DocumentClosed`` and ``SubscriptionCharged``; credit publishes finance copies of its
``PaymentReceived``, ``PaymentAllocated``, ``PartnerBlocked`` and ``PartnerUnblocked``. This
consumer posts every line (a month's subscription charge is a line too) as a sale on account
(Russian chart of accounts):

    Dr 62    Расчёты с покупателями         amount (VAT included)
    Cr 90.01 Выручка                        amount
    Dr 90.03 НДС с выручки                  vat_amount   (taxable lines only)
    Cr 68.02 Расчёты по НДС                 vat_amount

and reconciles each closed document: the lines it posted must add up to the document's closing
totals (amount, VAT, line count) to the kopeck. ``PaymentAllocated`` (queue
``finance.PaymentAllocated``) settles a document:

    Dr 51    Расчётные счета                allocated amount
    Cr 62    Расчёты с покупателями         allocated amount

so account 62 per document is what the partner still owes, and the ledger's paid amount of a
document equals billing's ``paid_amount``. ``SubscriptionCharged`` posts nothing (its line did):
the ledger keeps which subscription and month each charge line is, and reconciles that the
charge's document exists.

Exactly once in effect: the ledger keeps every handled ``message_id`` in the same SQLite
transaction as the postings, and acks the message only after that commit. Billing gives every
event a stable id, so a redelivery or an ops replay (``POST /api/v1/admin/finance/replay``) of a
period the ledger already has changes nothing, and a replay after data loss fills the gaps.

Run::

    python examples/finance_consumer.py --amqp amqp://guest:guest@127.0.0.1:5672/ \\
        --ledger var/ledger.sqlite3            # consume until Ctrl-C
    python examples/finance_consumer.py --ledger var/ledger.sqlite3 --report
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

RECEIVABLES = "62"
REVENUE = "90.01"
VAT_ON_REVENUE = "90.03"
VAT_PAYABLE = "68.02"
BANK = "51"
QUEUES = (
    "finance.DocumentLineAdded",
    "finance.DocumentClosed",
    "finance.PaymentAllocated",
    "finance.SubscriptionCharged",
)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS handled (
    message_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS postings (
    message_id TEXT NOT NULL REFERENCES handled (message_id),
    account TEXT NOT NULL,
    partner_id TEXT NOT NULL,
    document TEXT NOT NULL,
    debit INTEGER NOT NULL DEFAULT 0,   -- kopecks
    credit INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS postings_account ON postings (account, partner_id);
CREATE TABLE IF NOT EXISTS subscription_charges (
    charge_id TEXT PRIMARY KEY,
    subscription_id TEXT NOT NULL,
    month TEXT NOT NULL,
    document TEXT NOT NULL,
    amount INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS documents (
    number TEXT PRIMARY KEY,
    partner_id TEXT NOT NULL,
    date TEXT NOT NULL,
    lines INTEGER NOT NULL DEFAULT 0,
    amount INTEGER NOT NULL DEFAULT 0,
    vat_amount INTEGER NOT NULL DEFAULT 0,
    closed_lines INTEGER,
    closed_amount INTEGER,
    closed_vat_amount INTEGER,
    paid INTEGER NOT NULL DEFAULT 0
);
"""


def kopecks(money: str) -> int:
    """'1500.00' → 150000, exactly (Decimal, never float)."""
    return int(Decimal(money) * 100)


def rubles(value: int) -> Decimal:
    return (Decimal(value) / 100).quantize(Decimal("0.01"))


@dataclass(frozen=True)
class Discrepancy:
    document: str
    what: str


class Ledger:
    """The general ledger kept from the finance feed, in one SQLite file."""

    def __init__(self, path: str | Path = ":memory:") -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        columns = {row[1] for row in self._db.execute("PRAGMA table_info(documents)")}
        if "paid" not in columns:  # a ledger file from before payments were posted
            self._db.execute("ALTER TABLE documents ADD COLUMN paid INTEGER NOT NULL DEFAULT 0")

    def close(self) -> None:
        self._db.close()

    def apply(self, message_id: str, kind: str, body: dict[str, Any]) -> bool:
        """Post one event, atomically; ``False`` if it was handled before (a duplicate)."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            inserted = db.execute(
                "INSERT OR IGNORE INTO handled (message_id, kind) VALUES (?, ?)",
                (message_id, kind),
            ).rowcount
            if inserted:
                if kind == "DocumentLineAdded":
                    self._line(message_id, body)
                elif kind == "DocumentClosed":
                    self._closed(body)
                elif kind == "PaymentAllocated":
                    self._paid(message_id, body)
                elif kind == "SubscriptionCharged":
                    self._charged(body)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return bool(inserted)

    def _line(self, message_id: str, body: dict[str, Any]) -> None:
        partner, number = body["partner_id"], body["document_number"]
        amount, vat = kopecks(body["amount"]), kopecks(body["vat_amount"])
        postings = [
            (RECEIVABLES, amount, 0),
            (REVENUE, 0, amount),
        ]
        if vat:
            postings += [(VAT_ON_REVENUE, vat, 0), (VAT_PAYABLE, 0, vat)]
        self._db.executemany(
            "INSERT INTO postings (message_id, account, partner_id, document, debit, credit) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [(message_id, account, partner, number, dr, cr) for account, dr, cr in postings],
        )
        self._db.execute(
            "INSERT INTO documents (number, partner_id, date, lines, amount, vat_amount) "
            "VALUES (?, ?, ?, 1, ?, ?) ON CONFLICT (number) DO UPDATE SET "
            "lines = lines + 1, amount = amount + excluded.amount, "
            "vat_amount = vat_amount + excluded.vat_amount, date = excluded.date",
            (number, partner, body["document_date"], amount, vat),
        )

    def _closed(self, body: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT INTO documents (number, partner_id, date, closed_lines, closed_amount, "
            "closed_vat_amount) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (number) DO UPDATE SET "
            "closed_lines = excluded.closed_lines, closed_amount = excluded.closed_amount, "
            "closed_vat_amount = excluded.closed_vat_amount",
            (
                body["document_number"],
                body["partner_id"],
                body["document_date"],
                body["line_count"],
                kopecks(body["amount"]),
                kopecks(body["vat_amount"]),
            ),
        )

    def _paid(self, message_id: str, body: dict[str, Any]) -> None:
        partner, number = body["partner_id"], body["document_number"]
        amount = kopecks(body["amount"])
        self._db.executemany(
            "INSERT INTO postings (message_id, account, partner_id, document, debit, credit) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            [
                (message_id, BANK, partner, number, amount, 0),
                (message_id, RECEIVABLES, partner, number, 0, amount),
            ],
        )
        # the date is filled by the document's lines (a payment never precedes its document)
        self._db.execute(
            "INSERT INTO documents (number, partner_id, date, paid) VALUES (?, ?, '', ?) "
            "ON CONFLICT (number) DO UPDATE SET paid = paid + excluded.paid",
            (number, partner, amount),
        )

    def _charged(self, body: dict[str, Any]) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO subscription_charges (charge_id, subscription_id, month, "
            "document, amount) VALUES (?, ?, ?, ?, ?)",
            (
                body["charge_id"],
                body["subscription_id"],
                body["month"],
                body["document_number"],
                kopecks(body["amount"]),
            ),
        )

    def subscription_charges(self) -> dict[str, tuple[str, Decimal]]:
        """Per charge id, its document and amount."""
        rows = self._db.execute("SELECT charge_id, document, amount FROM subscription_charges")
        return {c: (d, rubles(a)) for c, d, a in rows}

    # -- reading the ledger ------------------------------------------------------------------

    def balance(self, account: str, partner_id: str | None = None) -> Decimal:
        """Debit minus credit of ``account`` (for one partner, or all)."""
        sql = "SELECT coalesce(sum(debit) - sum(credit), 0) FROM postings WHERE account = ?"
        params: tuple[str, ...] = (account,)
        if partner_id is not None:
            sql += " AND partner_id = ?"
            params += (partner_id,)
        return rubles(int(self._db.execute(sql, params).fetchone()[0]))

    def trial_balance(self) -> dict[str, Decimal]:
        rows = self._db.execute(
            "SELECT account, sum(debit) - sum(credit) FROM postings GROUP BY account ORDER BY 1"
        )
        return {account: rubles(int(value)) for account, value in rows}

    def documents(self) -> dict[str, tuple[Decimal, Decimal, int]]:
        """Per document, what the ledger posted: (amount, VAT, lines)."""
        rows = self._db.execute("SELECT number, amount, vat_amount, lines FROM documents")
        return {n: (rubles(a), rubles(v), int(c)) for n, a, v, c in rows}

    def paid(self) -> dict[str, Decimal]:
        """Per document, the payments allocated to it."""
        rows = self._db.execute("SELECT number, paid FROM documents")
        return {n: rubles(p) for n, p in rows}

    def reconcile(self) -> list[Discrepancy]:
        """Closed documents whose posted lines do not add up to their closing totals."""
        problems = []
        rows = self._db.execute(
            "SELECT number, lines, amount, vat_amount, closed_lines, closed_amount, "
            "closed_vat_amount FROM documents WHERE closed_amount IS NOT NULL ORDER BY number"
        )
        for number, lines, amount, vat, c_lines, c_amount, c_vat in rows:
            if (lines, amount, vat) != (c_lines, c_amount, c_vat):
                problems.append(
                    Discrepancy(
                        number,
                        f"posted {lines} lines {rubles(amount)} (VAT {rubles(vat)}), closed with "
                        f"{c_lines} lines {rubles(c_amount)} (VAT {rubles(c_vat)})",
                    )
                )
        return problems

    def closed_count(self, numbers: Iterable[str]) -> int:
        """How many of ``numbers`` the ledger has seen closed."""
        wanted = list(numbers)
        if not wanted:
            return 0
        marks = ",".join("?" * len(wanted))
        row = self._db.execute(
            "SELECT count(*) FROM documents WHERE closed_amount IS NOT NULL "
            f"AND number IN ({marks})",
            wanted,
        ).fetchone()
        return int(row[0])

    def handled(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM handled").fetchone()[0])


def report(ledger: Ledger) -> str:
    lines = ["Trial balance (RUB):"]
    lines += [f"  {account:>6}  {value:>16}" for account, value in ledger.trial_balance().items()]
    problems = ledger.reconcile()
    lines.append(f"Documents: {len(ledger.documents())}, discrepancies: {len(problems)}")
    lines += [f"  {p.document}: {p.what}" for p in problems]
    return "\n".join(lines)


async def consume(amqp_url: str, ledger: Ledger, stop: asyncio.Event, prefetch: int = 50) -> None:
    """Consume the finance queues until ``stop`` is set; ack each event after its commit."""
    import aio_pika  # the runner needs a broker client; the Ledger itself does not

    connection = await aio_pika.connect_robust(amqp_url)
    try:
        channel = await connection.channel()
        await channel.set_qos(prefetch_count=prefetch)

        async def handle(message: aio_pika.abc.AbstractIncomingMessage) -> None:
            kind = (message.type or "").split(".")[1]
            try:
                ledger.apply(str(message.message_id), kind, json.loads(message.body))
            except Exception:
                await message.nack(requeue=True)  # the quorum queue's delivery limit parks it
                raise
            await message.ack()

        for name in QUEUES:
            # Declared by esd's services at start (with their dead-letter arguments): passive.
            queue = await channel.declare_queue(name, passive=True)
            await queue.consume(handle)
        await stop.wait()
    finally:
        await connection.close()


def main(argv: Iterable[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--amqp", default="amqp://guest:guest@127.0.0.1:5672/")
    parser.add_argument("--ledger", default="ledger.sqlite3", help="SQLite file of the ledger")
    parser.add_argument("--report", action="store_true", help="print the ledger and exit")
    args = parser.parse_args(list(argv) if argv is not None else None)
    ledger = Ledger(args.ledger)
    try:
        if args.report:
            print(report(ledger))  # noqa: T201
            return

        async def run() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await consume(args.amqp, ledger, stop)

        asyncio.run(run())
        print(report(ledger))  # noqa: T201
    finally:
        ledger.close()


if __name__ == "__main__":
    main()
