"""The partner's credit balance, from the credit service."""

from __future__ import annotations

from esd_contracts.credit.queries import Balance, GetBalance
from litestar import Controller, get
from litestar.di import NamedDependency

from gateway.adapters.queries import QueryFailed
from gateway.domain.errors import Unavailable
from gateway.domain.pricing import money
from gateway.http.deps import AuthenticatedPartner
from gateway.http.schemas import BalanceRead
from gateway.runtime import Gateway


class BalanceController(Controller):
    path = "/api/v1/balance"
    tags = ["receivables"]  # noqa: RUF012

    @get("/", summary="Limit, debt, reservations, availability and overdue state")
    async def balance(
        self, gateway: NamedDependency[Gateway], partner: NamedDependency[AuthenticatedPartner]
    ) -> BalanceRead:
        query = GetBalance(
            correlation_id=partner.partner_id,
            occurred_at=gateway.service.clock.now(),
            partner_id=partner.partner_id,
        )
        try:
            answer = await gateway.queries.ask(query, Balance)
        except QueryFailed as exc:
            raise Unavailable("the credit service did not answer; retry shortly") from exc
        if not answer.found:
            raise Unavailable("the credit line is being opened; retry shortly")
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


ROUTES: list[type] = [BalanceController]
