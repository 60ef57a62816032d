"""The partner's credit balance, from the credit service: now, or at a past moment (``?at=``).

The past is folded from credit's append-only ledger and terms history, so ``at`` shows what the
balance was then (debt, reservations, overdue state), not today's figures.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Annotated, Any

from esd_contracts.credit.queries import Balance, GetBalance
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from gateway.adapters.queries import QueryFailed
from gateway.domain.errors import Unavailable
from gateway.domain.pricing import money
from gateway.http.deps import AuthenticatedPartner
from gateway.http.errors import ApiError
from gateway.http.schemas import BalanceRead
from gateway.runtime import Gateway

AT_DESCRIPTION = (
    "A past moment, ISO 8601 with offset (e.g. 2026-11-20T12:00:00+03:00): the balance as it "
    "was then; now when omitted (a future moment is now)"
)


def checked_at(at: datetime | None) -> datetime | None:
    """``at`` must carry an offset: a naive time would mean a different moment per reader."""
    if at is not None and at.tzinfo is None:
        raise ApiError(422, "validation_error", "at needs a UTC offset, e.g. +03:00")
    return at


async def fetch_balance(
    gateway: Gateway, partner_id: uuid.UUID, at: datetime | None
) -> Balance | None:
    """The credit service's balance of ``partner_id`` (None: no credit line then)."""
    query = GetBalance(
        correlation_id=partner_id,
        occurred_at=gateway.service.clock.now(),
        partner_id=partner_id,
        at=at,
    )
    try:
        answer = await gateway.queries.ask(query, Balance)
    except QueryFailed as exc:
        raise Unavailable("the credit service did not answer; retry shortly") from exc
    return answer if answer.found else None


async def current_balance(gateway: Gateway, partner_id: uuid.UUID) -> Balance | None:
    """The balance now, from this process's memory when credit has announced no change since
    (``adapters.read_caches.BalanceCache``), else from the credit service — one query for all
    the requests that miss together (a shop's connections after the entry expired), as long as
    nothing was announced since that query went out."""
    cache, now = gateway.balances, gateway.service.clock.now()
    cached: Balance | None = cache.get(partner_id, now)
    if cached is not None:
        return cached
    generation = cache.generation(partner_id)
    flight = cache.in_flight.get(partner_id)
    if flight is None or flight[0] != generation:
        fetch = asyncio.ensure_future(_fetch_and_keep(gateway, partner_id, generation, now))
        flight = cache.in_flight[partner_id] = (generation, fetch)
        fetch.add_done_callback(lambda _: _landed(cache.in_flight, partner_id, flight))
    answer: Balance | None = await asyncio.shield(flight[1])
    return answer


async def _fetch_and_keep(
    gateway: Gateway, partner_id: uuid.UUID, generation: Any, now: datetime
) -> Balance | None:
    """Kept before the query counts as landed, so a read arriving just after finds it."""
    answer = await fetch_balance(gateway, partner_id, None)
    if answer is not None:
        gateway.balances.put(partner_id, generation, now, answer)
    return answer


def _landed(in_flight: dict[uuid.UUID, Any], partner_id: uuid.UUID, flight: Any) -> None:
    if in_flight.get(partner_id) is flight:
        del in_flight[partner_id]


def balance_read(answer: Balance) -> BalanceRead:
    return BalanceRead(
        currency=answer.currency,
        limit=money(answer.limit),
        debt=money(answer.debt),
        reserved=money(answer.reserved),
        remainder=money(answer.remainder),
        available=money(answer.available),
        overdue_amount=money(answer.overdue_amount),
        blocked=answer.blocked,
        term_days=answer.term_days,
        next_due_date=answer.next_due_date,
    )


def is_past(gateway: Gateway, at: datetime | None) -> bool:
    return at is not None and at < gateway.service.clock.now()


class BalanceController(Controller):
    path = "/api/v1/balance"
    tags = ["receivables"]  # noqa: RUF012

    @get("/", summary="Limit, debt, reservations, availability and overdue state (now or at)")
    async def balance(
        self,
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        at: Annotated[datetime | None, QueryParameter(description=AT_DESCRIPTION)] = None,
    ) -> BalanceRead:
        at = checked_at(at)
        if at is None:
            answer = await current_balance(gateway, partner.partner_id)
        else:
            answer = await fetch_balance(gateway, partner.partner_id, at)
        if answer is None:
            if is_past(gateway, at):
                raise ApiError(404, "not_found", "the credit line did not exist at that moment")
            raise Unavailable("the credit line is being opened; retry shortly")
        return balance_read(answer)


ROUTES: list[type] = [BalanceController]
