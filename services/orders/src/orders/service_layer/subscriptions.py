"""Use cases of the subscription module: create, change, the vendor's answer, reading.

Commands are answered at once (request/reply) with the subscription as it stands. A command's
message id goes into the inbox with its effect, so a redelivered command is answered from the
current state and does nothing again; a refusal rolls its transaction back (nothing changed,
nothing remembered). The vendor call itself is the keys service's: a change is staged as
``ProvisionSubscription``/``UpdateVendorSubscription`` in the same transaction, and only the
vendor's confirmation makes it the subscription's state (and a ``SubscriptionChanged``).
"""

from __future__ import annotations

from datetime import date

from esd_contracts.envelope import Message
from esd_contracts.subscriptions.commands import (
    ChangeSubscription,
    Charges,
    CreateSubscription,
    GetSubscription,
    HistoryEntry,
    ListSubscriptions,
    PendingChange,
    SubscriptionAnswer,
    SubscriptionList,
    SubscriptionView,
)
from esd_contracts.subscriptions.provisioning import (
    ProvisionSubscription,
    SubscriptionProvisioned,
    UpdateVendorSubscription,
    VendorSubscriptionFailed,
)
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork

from orders.adapters import subscription_repository as repository
from orders.domain.subscription import (
    Pending,
    Refused,
    Subscription,
    check_credit,
    fingerprint,
    projected_month,
    step_id,
)

log = get_logger("esd.orders.subscriptions")


class _Rollback(Exception):
    def __init__(self, refused: Refused) -> None:
        super().__init__(refused.detail)
        self.refused = refused


def _refusal(refused: Refused) -> SubscriptionAnswer:
    return SubscriptionAnswer(code=refused.code, detail=refused.detail)


async def create(cmd: CreateSubscription, uow: UnitOfWork) -> SubscriptionAnswer:
    """A new subscription sent to its vendor, or the same one again for the same body."""
    now = uow.clock.now()
    today = uow.clock.today_moscow()
    try:
        async with uow.transaction(cmd.message_id) as tx:
            existing = await repository.by_external_id(tx.conn, cmd.partner_id, cmd.external_id)
            if existing is not None:
                return _replay(existing, cmd, today)
            sub = Subscription.create(
                subscription_id=cmd.subscription_id,
                partner_id=cmd.partner_id,
                external_id=cmd.external_id,
                sku=cmd.sku,
                name=cmd.name,
                vendor=cmd.vendor,
                quantity=cmd.quantity,
                monthly_price=cmd.monthly_price,
                vat_rate=cmd.vat_rate,
                test=cmd.test,
                today=today,
                now=now,
            )
            if not cmd.test:
                if not cmd.partner_live:
                    raise _Rollback(
                        Refused("partner_not_live", "the partner has not gone live", 422)
                    )
                await repository.lock_partner(tx.conn, cmd.partner_id)
                others = await repository.of_partner(tx.conn, cmd.partner_id)
                _check_credit(sub, sub.pending, others, cmd, today)
            if not await repository.add(tx.conn, sub):  # a concurrent create won
                raise _Rollback(Refused("retry", "concurrent create"))
            assert sub.pending is not None
            tx.publish(
                ProvisionSubscription(
                    message_id=step_id(sub.subscription_id, "provision"),
                    correlation_id=sub.subscription_id,
                    occurred_at=now,
                    subscription_id=sub.subscription_id,
                    change_id=sub.pending.change_id,
                    partner_id=sub.partner_id,
                    sku=sub.sku,
                    vendor=sub.vendor,
                    quantity=sub.quantity,
                    test=sub.test,
                )
            )
            log.info("subscription_created", subscription_id=str(sub.subscription_id))
            return SubscriptionAnswer(created=True, subscription=view(sub, today))
    except _Rollback as rollback:
        if rollback.refused.code == "retry":
            async with uow.engine.connect() as conn:
                existing = await repository.by_external_id(conn, cmd.partner_id, cmd.external_id)
            assert existing is not None
            return _replay(existing, cmd, today)
        return _refusal(rollback.refused)


def _replay(existing: Subscription, cmd: CreateSubscription, today: date) -> SubscriptionAnswer:
    if existing.fingerprint != fingerprint(cmd.sku, cmd.quantity, cmd.test):
        return SubscriptionAnswer(
            code="idempotency_conflict",
            detail=f"external_id {cmd.external_id!r} was already used with another request body",
        )
    return SubscriptionAnswer(created=False, subscription=view(existing, today))


def _check_credit(
    sub: Subscription,
    pending: Pending | None,
    subs: list[Subscription],
    cmd: CreateSubscription | ChangeSubscription,
    today: date,
) -> None:
    """The partner's month forecast with ``pending`` confirmed must fit its available credit."""
    others = [s for s in subs if s.subscription_id != sub.subscription_id]
    projected = projected_month(others, today) + sub.charges(today, pending)[1]
    credit = cmd.credit
    try:
        check_credit(
            projected,
            credit.available if credit is not None else None,
            credit.blocked if credit is not None else False,
            sub.test,
        )
    except Refused as refused:
        raise _Rollback(refused) from None


async def change(cmd: ChangeSubscription, uow: UnitOfWork) -> SubscriptionAnswer:
    """Ask the vendor for a change effective today; answered with the pending change."""
    now = uow.clock.now()
    today = uow.clock.today_moscow()
    try:
        async with uow.transaction(cmd.message_id) as tx:
            sub = await repository.get(tx.conn, cmd.subscription_id, cmd.partner_id, lock=True)
            if sub is None:
                raise _Rollback(Refused("not_found", "subscription not found", 404))
            if tx.duplicate:  # handled before: answer as it stands, do nothing again
                return SubscriptionAnswer(subscription=view(sub, today))
            try:
                pending = sub.request(cmd.action, cmd.quantity, today, now)
            except Refused as refused:
                raise _Rollback(refused) from None
            if pending is None:
                return SubscriptionAnswer(subscription=view(sub, today))
            if sub.increases(pending) and not sub.test:
                await repository.lock_partner(tx.conn, sub.partner_id)
                subs = await repository.of_partner(tx.conn, sub.partner_id)
                _check_credit(sub, pending, subs, cmd, today)
            await repository.save(tx.conn, sub)
            assert sub.tenant_id is not None  # only a provisioned subscription gets this far
            tx.publish(
                UpdateVendorSubscription(
                    message_id=step_id(sub.subscription_id, f"update:{pending.change_id}"),
                    correlation_id=sub.subscription_id,
                    occurred_at=now,
                    subscription_id=sub.subscription_id,
                    change_id=pending.change_id,
                    partner_id=sub.partner_id,
                    sku=sub.sku,
                    vendor=sub.vendor,
                    tenant_id=sub.tenant_id,
                    quantity=pending.quantity,
                    status=pending.status,
                    test=sub.test,
                )
            )
            log.info(
                "subscription_change_requested",
                subscription_id=str(sub.subscription_id),
                change=pending.change,
            )
            return SubscriptionAnswer(subscription=view(sub, today))
    except _Rollback as rollback:
        return _refusal(rollback.refused)


async def vendor_answered(
    event: SubscriptionProvisioned | VendorSubscriptionFailed, uow: UnitOfWork
) -> None:
    """The vendor confirmed (or refused) a change: apply it once, whatever the redeliveries."""
    now = uow.clock.now()
    async with uow.transaction(event.message_id) as tx:
        if tx.duplicate:
            return
        sub = await repository.get(tx.conn, event.subscription_id, lock=True)
        if sub is None:
            log.warning("vendor_answer_for_unknown_subscription", id=str(event.subscription_id))
            return
        messages: list[Message] = []
        if isinstance(event, SubscriptionProvisioned):
            changed = sub.confirm(event.change_id, event.tenant_id, now)
            if changed is None:
                log.info("stale_vendor_confirmation", subscription_id=str(sub.subscription_id))
                return
            messages.append(changed)
            await repository.save(tx.conn, sub, new_entry=True)
            log.info(
                "subscription_changed",
                subscription_id=str(sub.subscription_id),
                change=changed.change,
                sequence=changed.sequence,
            )
        else:
            if not sub.refuse(event.change_id, event.reason, now):
                return
            await repository.save(tx.conn, sub)
            log.warning(
                "subscription_vendor_refused",
                subscription_id=str(sub.subscription_id),
                reason=event.reason,
            )
        tx.publish(*messages)


async def get(query: GetSubscription, uow: UnitOfWork) -> SubscriptionAnswer:
    async with uow.engine.connect() as conn:
        sub = await repository.get(conn, query.subscription_id, query.partner_id)
    if sub is None:
        return SubscriptionAnswer(code="not_found", detail="subscription not found")
    return SubscriptionAnswer(subscription=view(sub, uow.clock.today_moscow()))


async def list_of(query: ListSubscriptions, uow: UnitOfWork) -> SubscriptionList:
    async with uow.engine.connect() as conn:
        if query.external_id is not None:
            one = await repository.by_external_id(conn, query.partner_id, query.external_id)
            subs = [one] if one is not None else []
        else:
            subs = await repository.of_partner(conn, query.partner_id, query.limit)
    today = uow.clock.today_moscow()
    return SubscriptionList(items=tuple(view(s, today) for s in subs))


def view(sub: Subscription, today: date) -> SubscriptionView:
    to_date, forecast = sub.charges(today)
    pending = sub.pending
    return SubscriptionView(
        subscription_id=sub.subscription_id,
        partner_id=sub.partner_id,
        external_id=sub.external_id,
        sku=sub.sku,
        name=sub.name,
        vendor=sub.vendor,
        test=sub.test,
        status=sub.status,
        quantity=sub.quantity,
        monthly_price=sub.monthly_price,
        vat_rate=sub.vat_rate,
        tenant_id=sub.tenant_id,
        pending_change=None
        if pending is None
        else PendingChange(
            change_id=pending.change_id,
            change=pending.change,
            status=pending.status,
            quantity=pending.quantity,
            effective_date=pending.effective_date,
            requested_at=pending.requested_at,
        ),
        vendor_error=sub.vendor_error,
        created_at=sub.created_at,
        updated_at=sub.updated_at,
        history=tuple(
            HistoryEntry(
                sequence=e.sequence,
                change=e.change,
                status=e.status,
                quantity=e.quantity,
                seats=e.seats,
                effective_date=e.effective_date,
                at=e.at,
            )
            for e in sub.history
        ),
        charges=Charges(
            month=f"{today.year:04d}-{today.month:02d}",
            as_of=today,
            to_date=to_date,
            forecast=forecast,
        ),
    )
