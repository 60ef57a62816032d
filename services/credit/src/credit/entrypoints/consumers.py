"""RabbitMQ entry points of the credit service: contract in, handler called, nothing else."""

from __future__ import annotations

from esd_contracts.billing.events import ShipmentRecorded
from esd_contracts.credit.commands import (
    ChargeSubscription,
    FinanceFeedReplayed,
    PostBankStatement,
    PostPayment,
    PostPayments,
    ReleaseCredit,
    ReplayFinanceFeed,
    ReserveCredit,
    SetCreditTerms,
)
from esd_contracts.credit.queries import (
    Balance,
    CreditHistory,
    GetBalance,
    GetCreditHistory,
    GetReceivablesAging,
    PaymentsPosted,
    ReceivablesAging,
)
from esd_contracts.partners.events import PartnerRegistered
from esd_platform.messaging import answers, consumes
from esd_platform.uow import UnitOfWork
from faststream.rabbit import RabbitRouter

from credit.service_layer import feed, handlers, receivables


def build_router(uow: UnitOfWork) -> RabbitRouter:
    router = RabbitRouter()

    @consumes(router, "credit", ReserveCredit)
    async def on_reserve_credit(cmd: ReserveCredit) -> None:
        await handlers.reserve_credit(cmd, uow)

    @consumes(router, "credit", ShipmentRecorded)
    async def on_shipment_recorded(event: ShipmentRecorded) -> None:
        await handlers.capture_credit(event, uow)

    @consumes(router, "credit", ReleaseCredit)
    async def on_release_credit(cmd: ReleaseCredit) -> None:
        await handlers.release_credit(cmd, uow)

    @consumes(router, "credit", SetCreditTerms)
    async def on_set_credit_terms(cmd: SetCreditTerms) -> None:
        await handlers.set_credit_terms(cmd, uow)

    @consumes(router, "credit", PartnerRegistered)
    async def on_partner_registered(event: PartnerRegistered) -> None:
        await handlers.register_partner(event, uow)

    @answers(router, GetBalance)
    async def on_get_balance(query: GetBalance) -> Balance:
        return await handlers.get_balance(query, uow)

    @consumes(router, "credit", PostPayment)
    async def on_post_payment(cmd: PostPayment) -> None:
        await receivables.post_payment(cmd, uow)

    @answers(router, PostPayments)
    async def on_post_payments(cmd: PostPayments) -> PaymentsPosted:
        return await receivables.post_payments(cmd, uow)

    @answers(router, PostBankStatement)
    async def on_post_bank_statement(cmd: PostBankStatement) -> PaymentsPosted:
        return await receivables.post_bank_statement(cmd, uow)

    @answers(router, GetReceivablesAging)
    async def on_get_receivables_aging(query: GetReceivablesAging) -> ReceivablesAging:
        return await receivables.receivables_aging(query, uow)

    @consumes(router, "credit", ChargeSubscription)
    async def on_charge_subscription(cmd: ChargeSubscription) -> None:
        await handlers.charge_subscription(cmd, uow)

    @answers(router, ReplayFinanceFeed)
    async def on_replay_finance_feed(cmd: ReplayFinanceFeed) -> FinanceFeedReplayed:
        return await feed.replay(cmd, uow)

    @answers(router, GetCreditHistory)
    async def on_get_credit_history(query: GetCreditHistory) -> CreditHistory:
        return await receivables.credit_history(query, uow)

    return router
