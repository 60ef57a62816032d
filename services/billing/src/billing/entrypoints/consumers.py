"""RabbitMQ entry points of the billing service: contract in, handler called, nothing else."""

from __future__ import annotations

from esd_contracts.billing.commands import (
    DocumentResent,
    FinanceEventsReplayed,
    RecordShipment,
    ReplayFinanceEvents,
    ResendDocument,
)
from esd_contracts.billing.queries import (
    DocumentPdf,
    Documents,
    DocumentUpd,
    EdoStatus,
    GetDocumentPdf,
    GetDocuments,
    GetDocumentUpd,
    GetEdoStatus,
)
from esd_contracts.credit.events import CreditTermsSet, PaymentAllocated
from esd_contracts.partners.events import PartnerRegistered
from esd_contracts.subscriptions.events import SubscriptionChanged
from esd_platform.messaging import answers, consumes
from esd_platform.uow import UnitOfWork
from faststream.rabbit import RabbitRouter

from billing.service_layer import closing, edo, handlers, payments, printing, subscriptions
from billing.service_layer.issuer import Issuer


def build_router(uow: UnitOfWork, issuer: Issuer) -> RabbitRouter:
    router = RabbitRouter()

    @consumes(router, "billing", RecordShipment)
    async def on_record_shipment(cmd: RecordShipment) -> None:
        await handlers.record_shipment(cmd, uow)

    @consumes(router, "billing", PartnerRegistered)
    async def on_partner_registered(event: PartnerRegistered) -> None:
        await handlers.register_partner(event, uow)

    @consumes(router, "billing", CreditTermsSet)
    async def on_credit_terms_set(event: CreditTermsSet) -> None:
        await handlers.set_terms(event, uow)

    @consumes(router, "billing", PaymentAllocated)
    async def on_payment_allocated(event: PaymentAllocated) -> None:
        await payments.apply_payment(event, uow)

    @consumes(router, "billing", SubscriptionChanged)
    async def on_subscription_changed(event: SubscriptionChanged) -> None:
        await subscriptions.record_change(event, uow)

    @answers(router, GetDocuments)
    async def on_get_documents(query: GetDocuments) -> Documents:
        return await handlers.get_documents(query, uow)

    @answers(router, GetDocumentUpd)
    async def on_get_document_upd(query: GetDocumentUpd) -> DocumentUpd:
        return await printing.get_document_upd(query, uow, issuer)

    @answers(router, GetDocumentPdf)
    async def on_get_document_pdf(query: GetDocumentPdf) -> DocumentPdf:
        return await printing.get_document_pdf(query, uow, issuer)

    @answers(router, ReplayFinanceEvents)
    async def on_replay_finance_events(cmd: ReplayFinanceEvents) -> FinanceEventsReplayed:
        return await closing.replay(cmd, uow)

    @answers(router, GetEdoStatus)
    async def on_get_edo_status(query: GetEdoStatus) -> EdoStatus:
        return await edo.edo_status(query, uow)

    @answers(router, ResendDocument)
    async def on_resend_document(cmd: ResendDocument) -> DocumentResent:
        return await edo.resend(cmd, uow)

    return router
