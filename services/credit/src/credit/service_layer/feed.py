"""Credit's part of the finance feed: a copy of each receivables event on ``finance.events``.

Credit's own ``PaymentReceived``, ``PaymentAllocated``, ``PartnerBlocked`` and
``PartnerUnblocked`` stay on ``credit.events`` for services that route them (billing consumes
``PaymentAllocated``); finance reads one exchange, ``finance.events``. So wherever credit
publishes one of these, :func:`publish` stages, in the same transaction, the finance copy
(``message_id`` derived from the credit event's, see ``finance_copy_id``) and journals it in
``finance_feed``; :func:`replay` sends journalled copies again, same ids, same bodies. A credit
event nobody routes is not published at all (an unroutable message is an error for the outbox).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from esd_contracts.billing import finance
from esd_contracts.credit import events as credit_events
from esd_contracts.credit.commands import FinanceFeedReplayed, ReplayFinanceFeed
from esd_contracts.envelope import Event, Message
from esd_contracts.topology import ROUTES
from esd_platform.clock import moscow_day
from esd_platform.logging import get_logger
from esd_platform.uow import Transaction, UnitOfWork
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncConnection

log = get_logger("esd.credit.feed")

COPIES: dict[type[Event], type[Event]] = {
    credit_events.PaymentReceived: finance.PaymentReceived,
    credit_events.PaymentAllocated: finance.PaymentAllocated,
    credit_events.PartnerBlocked: finance.PartnerBlocked,
    credit_events.PartnerUnblocked: finance.PartnerUnblocked,
}
BY_TYPE: dict[str, type[Event]] = {c.message_type(): c for c in COPIES.values()}
ROUTED: frozenset[type[Any]] = frozenset(r.message for r in ROUTES)

_JOURNAL = text(
    """
    INSERT INTO finance_feed (message_id, partner_id, kind, occurred_at, day, body)
    SELECT * FROM unnest(CAST(:ids AS uuid[]), CAST(:partners AS uuid[]),
                         CAST(:kinds AS text[]), CAST(:moments AS timestamptz[]),
                         CAST(:days AS date[]), CAST(:bodies AS text[]))
    ON CONFLICT (message_id) DO NOTHING
    """
)
"""One statement for a whole statement's copies (arrays, not one INSERT per row)."""


def finance_copy(event: Message) -> Event | None:
    """The finance copy of a credit receivables event (``None`` for any other message)."""
    kind = COPIES.get(type(event))  # type: ignore[arg-type]
    if kind is None:
        return None
    # the credit event is validated already and the copy has the same fields plus its ids:
    # construct it without validating every field again (a 10,000-payment statement makes
    # ~20,000 copies)
    body = {name: getattr(event, name) for name in type(event).model_fields}
    del body["schema_version"]
    body["message_id"] = finance.finance_copy_id(kind.__name__, event.message_id)
    body["source_message_id"] = event.message_id
    return kind.model_construct(**body)


async def publish(tx: Transaction, messages: Iterable[Message]) -> None:
    """Stage ``messages`` (those some service routes) and the finance copies of the
    receivables events among them, journalled for the replay."""
    staged: list[Message] = []
    rows: list[dict[str, Any]] = []
    for message in messages:
        if type(message) in ROUTED or type(message) not in COPIES:
            staged.append(message)
        copy = finance_copy(message)
        if copy is not None:
            staged.append(copy)
            rows.append(
                {
                    "message_id": copy.message_id,
                    "partner_id": copy.partner_id,  # type: ignore[attr-defined]
                    "kind": copy.message_type(),
                    "occurred_at": copy.occurred_at,
                    "day": moscow_day(copy.occurred_at),
                    "body": copy.model_dump_json(),
                }
            )
    if rows:
        await tx.conn.execute(
            _JOURNAL,
            {
                "ids": [r["message_id"] for r in rows],
                "partners": [r["partner_id"] for r in rows],
                "kinds": [r["kind"] for r in rows],
                "moments": [r["occurred_at"] for r in rows],
                "days": [r["day"] for r in rows],
                "bodies": [r["body"] for r in rows],
            },
        )
    tx.publish(*staged)


async def journal(conn: AsyncConnection, day: date, partner_id: uuid.UUID | None) -> list[Event]:
    sql = "SELECT kind, body FROM finance_feed WHERE day = :day"
    params: dict[str, Any] = {"day": day}
    if partner_id is not None:
        sql += " AND partner_id = :partner_id"
        params["partner_id"] = partner_id
    rows = (await conn.execute(text(sql + " ORDER BY occurred_at, message_id"), params)).all()
    return [BY_TYPE[r.kind].model_validate_json(r.body) for r in rows]


async def replay(cmd: ReplayFinanceFeed, uow: UnitOfWork) -> FinanceFeedReplayed:
    """Publish again, day by day, the finance copies journalled on the period's Moscow days."""
    count = 0
    day = cmd.date_from
    while day <= cmd.date_to:
        async with uow.transaction() as tx:
            events = await journal(tx.conn, day, cmd.partner_id)
            tx.publish(*events)
        count += len(events)
        day += timedelta(days=1)
    log.info(
        "finance_feed_replayed",
        date_from=cmd.date_from.isoformat(),
        date_to=cmd.date_to.isoformat(),
        events=count,
    )
    return FinanceFeedReplayed(events=count)
