"""Every exchange, queue and binding of esd, in one place.

Each service declares the whole topology at start (declarations are idempotent), so a publish
never finds "no queue yet" because of the order in which services came up.
"""

from __future__ import annotations

from dataclasses import dataclass

from esd_contracts.billing import finance
from esd_contracts.billing.commands import RecordShipment, ReplayFinanceEvents, ResendDocument
from esd_contracts.billing.events import ShipmentRecorded
from esd_contracts.billing.finance import DocumentClosed, DocumentLineAdded, SubscriptionCharged
from esd_contracts.billing.queries import (
    GetDocumentPdf,
    GetDocuments,
    GetDocumentUpd,
    GetEdoStatus,
)
from esd_contracts.catalog.commands import ImportPriceList, SetPriceRule
from esd_contracts.catalog.events import PriceRuleChanged, ProductChanged
from esd_contracts.catalog.queries import QuoteProduct
from esd_contracts.credit.commands import (
    ChargeSubscription,
    PostBankStatement,
    PostPayment,
    PostPayments,
    ReleaseCredit,
    ReplayFinanceFeed,
    ReserveCredit,
    SetCreditTerms,
)
from esd_contracts.credit.events import (
    CreditCaptured,
    CreditRefused,
    CreditReleased,
    CreditReserved,
    CreditTermsSet,
    PartnerBlocked,
    PartnerUnblocked,
    PaymentAllocated,
    PaymentReceived,
)
from esd_contracts.credit.queries import GetBalance, GetCreditHistory, GetReceivablesAging
from esd_contracts.envelope import Message, Query
from esd_contracts.keys.commands import IssueKeys, LoadKeyPool
from esd_contracts.keys.events import KeysFailed, KeysIssued, StockLow
from esd_contracts.keys.queries import GetKeyStock, GetOrderKeys, GetVendorHealth
from esd_contracts.orders.commands import CancelOrder, PlaceOrder
from esd_contracts.orders.events import (
    CancellationRefused,
    OrderCancelled,
    OrderCompleted,
    OrderFailed,
    OrderRejected,
)
from esd_contracts.partners.events import PartnerRegistered
from esd_contracts.subscriptions.commands import (
    ChangeSubscription,
    CreateSubscription,
    GetSubscription,
    ListSubscriptions,
)
from esd_contracts.subscriptions.events import SubscriptionChanged
from esd_contracts.subscriptions.provisioning import (
    ProvisionSubscription,
    SubscriptionProvisioned,
    UpdateVendorSubscription,
    VendorSubscriptionFailed,
)

DEAD_LETTER_EXCHANGE = "esd.dead-letter"
"""Where a queue's poison messages go, routed by the queue's name into ``<queue>.dlq``."""

DELIVERY_LIMIT = 8
"""Deliveries of one message before RabbitMQ parks it in the dead-letter queue."""

QUERY_TTL_MS = 30_000
"""A query nobody answered within this time is dropped: its caller gave up long ago."""

SERVICES = ("catalog", "orders", "credit", "keys", "billing", "gateway")


@dataclass(frozen=True)
class Route:
    """``consumer`` handles ``message`` from its own durable quorum queue."""

    consumer: str
    message: type[Message]

    @property
    def queue(self) -> str:
        """``<consumer>.<Message>``, e.g. ``credit.ReserveCredit``."""
        return f"{self.consumer}.{self.message.__name__}"

    @property
    def exchange(self) -> str:
        return self.message.exchange_name()

    @property
    def routing_key(self) -> str:
        return self.message.message_type()

    @property
    def dead_letter_queue(self) -> str:
        return f"{self.queue}.dlq"


ROUTES: tuple[Route, ...] = (
    # orders: intake and the saga's replies
    Route("orders", PlaceOrder),
    Route("orders", CancelOrder),
    Route("orders", CreditReserved),
    Route("orders", CreditRefused),
    Route("orders", CreditCaptured),
    Route("orders", CreditReleased),
    Route("orders", KeysIssued),
    Route("orders", KeysFailed),
    # credit
    Route("credit", ReserveCredit),
    Route("credit", ShipmentRecorded),  # the order is on a document: capture its credit
    Route("credit", ReleaseCredit),
    Route("credit", SetCreditTerms),
    Route("credit", PartnerRegistered),
    Route("credit", PostPayment),
    # keys
    Route("keys", IssueKeys),
    # billing
    Route("billing", RecordShipment),
    Route("billing", PartnerRegistered),
    Route("billing", CreditTermsSet),
    Route("billing", PaymentAllocated),  # documents' paid_amount and status
    # finance feed (billing publishes on finance.events): the downstream ledger's durable queues;
    # examples/finance_consumer.py is a sample consumer of them
    Route("finance", DocumentLineAdded),
    Route("finance", DocumentClosed),
    # receivables (credit publishes finance copies of its events on finance.events, see
    # esd_contracts/billing/finance.py): payments booked and applied, overdue blocks and lifts
    Route("finance", finance.PaymentReceived),
    Route("finance", finance.PaymentAllocated),
    Route("finance", finance.PartnerBlocked),
    Route("finance", finance.PartnerUnblocked),
    Route("finance", SubscriptionCharged),  # billing: a subscription's month charged
    # gateway read models
    Route("gateway", ProductChanged),
    Route("gateway", PriceRuleChanged),
    Route("gateway", OrderCompleted),
    Route("gateway", OrderRejected),
    Route("gateway", OrderFailed),
    Route("gateway", OrderCancelled),
    Route("gateway", CancellationRefused),
    Route("gateway", StockLow),  # ops alert: a key pool ran low (keys publishes it)
    Route("billing", SubscriptionChanged),  # the month-end charge's projection
    Route("credit", ChargeSubscription),  # billing: a subscription's charge as debt
    Route("keys", ProvisionSubscription),  # orders: create a subscription at its vendor
    Route("keys", UpdateVendorSubscription),  # orders: push a subscription change to the vendor
    Route("orders", SubscriptionProvisioned),  # keys: the vendor confirmed a subscription change
    Route("orders", VendorSubscriptionFailed),  # keys: the vendor refused it
    # gateway: a partner's balance held in memory is forgotten when credit changes it (the
    # partner's own orders forget it when they become final)
    Route("gateway", CreditTermsSet),
    Route("gateway", PaymentReceived),
    Route("gateway", PaymentAllocated),
    Route("gateway", PartnerBlocked),
    Route("gateway", PartnerUnblocked),
)

QUERIES: tuple[type[Query], ...] = (
    GetBalance,
    GetOrderKeys,
    GetDocuments,
    GetDocumentUpd,
    GetDocumentPdf,
    ReplayFinanceEvents,  # request/reply, though a command: it goes to billing.commands
    ResendDocument,  # the same
    GetEdoStatus,
    ImportPriceList,  # request/reply, though a command: it goes to catalog.commands
    SetPriceRule,  # the same
    QuoteProduct,
    LoadKeyPool,  # request/reply, though a command: it goes to keys.commands
    GetKeyStock,
    GetVendorHealth,
    PostPayments,  # request/reply, though a command: it goes to credit.commands
    PostBankStatement,  # request/reply, though a command: it goes to credit.commands
    GetReceivablesAging,
    ReplayFinanceFeed,  # request/reply, though a command: it goes to credit.commands
    CreateSubscription,  # request/reply, though a command: subscriptions.commands (orders)
    ChangeSubscription,  # the same
    GetSubscription,
    ListSubscriptions,
    GetCreditHistory,  # ops: a partner's terms history and payments
)


def route(consumer: str, message: type[Message]) -> Route:
    """The registered route of ``message`` to ``consumer``; unregistered is a programming error."""
    for candidate in ROUTES:
        if candidate.consumer == consumer and candidate.message is message:
            return candidate
    raise LookupError(f"no route of {message.__name__} to {consumer}; add it to ROUTES")


def query_queue(query: type[Query]) -> str:
    """``credit.GetBalance``: the queue a query's owner answers on."""
    return f"{query.CONTEXT}.{query.__name__}"


def exchanges() -> set[str]:
    """Every topic exchange a message can be published to."""
    names = {r.exchange for r in ROUTES}
    names.update(q.exchange_name() for q in QUERIES)
    names.add("platform.events")
    return names
