"""Subscriptions: the gateway's side. The orders service owns each subscription's state and
answers every command at once (request/reply); this module picks the product and the partner's
price from the catalog replica (as order intake does), reads the partner's credit from credit's
ledger for a new subscription or more seats, and waits, if asked, for the vendor's confirmation.

Plain async functions of (Gateway, partner, …), so the portal can call them too.
"""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Protocol, TypeVar

from esd_contracts.credit.queries import Balance, GetBalance
from esd_contracts.envelope import Query
from esd_contracts.subscriptions.commands import (
    Action,
    ChangeSubscription,
    CreateSubscription,
    CreditView,
    GetSubscription,
    ListSubscriptions,
    SubscriptionAnswer,
    SubscriptionList,
    SubscriptionView,
)
from pydantic import BaseModel

from gateway.adapters import repository
from gateway.adapters.queries import QueryFailed
from gateway.domain.errors import Conflict, NotFound, Refusal, Unavailable
from gateway.domain.ordering import check_quantity
from gateway.runtime import Gateway
from gateway.service_layer import catalog

R = TypeVar("R", bound=BaseModel)

POLL_SECONDS = 0.1
REFUSED_422 = frozenset(
    {
        "credit_limit_exceeded",
        "partner_blocked_overdue",
        "partner_not_live",
        "invalid_quantity",
        "validation_error",
    }
)


class PartnerRef(Protocol):
    """Who asks: the API's ``AuthenticatedPartner`` or the portal's session partner."""

    @property
    def partner_id(self) -> uuid.UUID: ...

    @property
    def live(self) -> bool: ...


@dataclass(frozen=True)
class Created:
    subscription: SubscriptionView
    created: bool
    """False when an earlier request with the same body had created it (idempotent replay)."""


async def _ask(gateway: Gateway, query: Query, reply: type[R]) -> R:
    try:
        return await gateway.queries.ask(query, reply)
    except QueryFailed as exc:
        raise Unavailable("the subscription service did not answer; retry shortly") from exc


def _answer(answer: SubscriptionAnswer) -> SubscriptionView:
    if answer.code is None and answer.subscription is not None:
        return answer.subscription
    code = answer.code or "internal_error"
    if code == "not_found":
        raise NotFound("subscription")
    if code in REFUSED_422:
        raise Refusal(code, answer.detail)
    raise Conflict(code, answer.detail)


async def _credit(gateway: Gateway, partner_id: uuid.UUID) -> CreditView:
    try:
        balance = await gateway.queries.ask(
            GetBalance(
                correlation_id=partner_id,
                occurred_at=gateway.service.clock.now(),
                partner_id=partner_id,
            ),
            Balance,
        )
    except QueryFailed as exc:
        raise Unavailable("the credit service did not answer; retry shortly") from exc
    if not balance.found:
        return CreditView(available=0, blocked=False)
    return CreditView(available=balance.available, blocked=balance.blocked)


async def create_subscription(
    gateway: Gateway,
    partner: PartnerRef,
    *,
    external_id: str,
    sku: str,
    quantity: int,
    test: bool = False,
    wait: float = 0,
) -> Created:
    """A new subscription of ``quantity`` seats (or the same one again for the same body)."""
    check_quantity(quantity)
    async with gateway.service.engine.connect() as conn:
        product = await repository.product(conn, sku)
        try:
            if product is None:
                raise Refusal("unknown_sku", f"no product with sku {sku!r}")
            if product.kind != "subscription":
                raise Refusal(
                    "not_a_subscription", f"product {sku!r} is sold as keys: order it instead"
                )
            if not product.active:
                raise Refusal("product_inactive", f"product {sku!r} cannot be subscribed to now")
        except Refusal:
            # a replay of an accepted create stays a replay even if the product changed since
            earlier = await _replay(gateway, partner, external_id, sku, quantity, test)
            if earlier is None:
                raise
            return earlier
        terms = await catalog.partner_terms(conn, partner.partner_id, product)
    subscription_id = uuid.uuid4()
    credit = None if test else await _credit(gateway, partner.partner_id)
    answer = await _ask(
        gateway,
        CreateSubscription(
            correlation_id=subscription_id,
            occurred_at=gateway.service.clock.now(),
            subscription_id=subscription_id,
            partner_id=partner.partner_id,
            partner_live=partner.live,
            external_id=external_id,
            sku=product.sku,
            name=product.name,
            vendor=product.vendor,
            quantity=quantity,
            monthly_price=terms.unit_price,
            vat_rate=terms.vat_rate,
            test=test,
            credit=credit,
        ),
        SubscriptionAnswer,
    )
    view = _answer(answer)
    if wait:
        view = await _settled(gateway, partner, view, wait)
    return Created(view, answer.created)


async def _replay(
    gateway: Gateway, partner: PartnerRef, external_id: str, sku: str, quantity: int, test: bool
) -> Created | None:
    """The subscription an earlier create with this external id made, if any (same body)."""
    answer = await _ask(
        gateway,
        ListSubscriptions(
            correlation_id=partner.partner_id,
            occurred_at=gateway.service.clock.now(),
            partner_id=partner.partner_id,
            external_id=external_id,
        ),
        SubscriptionList,
    )
    if not answer.items:
        return None
    [earlier] = answer.items
    # the create's body: its quantity is the first confirmed one (or still the asked one)
    created_with = earlier.history[0].quantity if earlier.history else earlier.quantity
    if (earlier.sku, created_with, earlier.test) != (sku, quantity, test):
        raise Conflict(
            "idempotency_conflict",
            f"external_id {external_id!r} was already used with another request body",
        )
    return Created(earlier, created=False)


async def change_subscription(
    gateway: Gateway,
    partner: PartnerRef,
    subscription_id: uuid.UUID,
    action: Action,
    quantity: int | None = None,
    *,
    wait: float = 0,
) -> SubscriptionView:
    """Ask for a change effective today; with ``wait``, until the vendor has answered."""
    if action == "quantity":
        check_quantity(quantity)
    credit = await _credit(gateway, partner.partner_id) if action == "quantity" else None
    view = _answer(
        await _ask(
            gateway,
            ChangeSubscription(
                correlation_id=subscription_id,
                occurred_at=gateway.service.clock.now(),
                subscription_id=subscription_id,
                partner_id=partner.partner_id,
                action=action,
                quantity=quantity,
                credit=credit,
            ),
            SubscriptionAnswer,
        )
    )
    if wait:
        view = await _settled(gateway, partner, view, wait)
    return view


async def get_subscription(
    gateway: Gateway, partner: PartnerRef, subscription_id: uuid.UUID, *, wait: float = 0
) -> SubscriptionView:
    """One of the partner's subscriptions (another's: not found)."""
    view = await _get(gateway, partner, subscription_id)
    if wait:
        view = await _settled(gateway, partner, view, wait)
    return view


async def list_subscriptions(gateway: Gateway, partner: PartnerRef) -> list[SubscriptionView]:
    answer = await _ask(
        gateway,
        ListSubscriptions(
            correlation_id=partner.partner_id,
            occurred_at=gateway.service.clock.now(),
            partner_id=partner.partner_id,
        ),
        SubscriptionList,
    )
    return list(answer.items)


async def _get(
    gateway: Gateway, partner: PartnerRef, subscription_id: uuid.UUID
) -> SubscriptionView:
    return _answer(
        await _ask(
            gateway,
            GetSubscription(
                correlation_id=subscription_id,
                occurred_at=gateway.service.clock.now(),
                subscription_id=subscription_id,
                partner_id=partner.partner_id,
            ),
            SubscriptionAnswer,
        )
    )


def settled(view: SubscriptionView) -> bool:
    """The vendor has answered every change asked so far."""
    return view.pending_change is None


async def _settled(
    gateway: Gateway, partner: PartnerRef, view: SubscriptionView, seconds: float
) -> SubscriptionView:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while not settled(view) and loop.time() < deadline:
        await asyncio.sleep(POLL_SECONDS)
        view = await _get(gateway, partner, view.subscription_id)
    return view
