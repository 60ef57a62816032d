"""Use cases of subscription provisioning: carry an orders' change to the vendor, answer once.

The vendor is called before the transaction (no connection or lock held while it answers) and
is idempotent by the change id; the answer's message id is derived from the change id, so a
redelivered command, whatever its message id, answers the very same message, which the orders
service's inbox drops. Test subscriptions get a ``TEST-`` tenant and never reach a vendor.
"""

from __future__ import annotations

import uuid

from esd_contracts.envelope import Message
from esd_contracts.subscriptions.provisioning import (
    ProvisionSubscription,
    SubscriptionProvisioned,
    UpdateVendorSubscription,
    VendorSubscriptionFailed,
)
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork
from sqlalchemy import text

from keys.adapters.vendor_subscriptions import VendorOutcome, VendorSubscriptions

log = get_logger("esd.keys.subscriptions")

_NAMESPACE = uuid.UUID("5d0f7a2e-8c1b-4e9a-b7f3-0e6c2a9d4b18")
_HANDLED = text("SELECT 1 FROM inbox WHERE message_id = :id")


def test_tenant(subscription_id: uuid.UUID) -> str:
    return f"TEST-{subscription_id.hex[:16].upper()}"


async def provision(
    cmd: ProvisionSubscription | UpdateVendorSubscription,
    uow: UnitOfWork,
    vendor: VendorSubscriptions,
) -> None:
    """Create the tenant or push the change; publish the vendor's confirmation or refusal."""
    async with uow.engine.connect() as conn:
        if (await conn.execute(_HANDLED, {"id": cmd.message_id})).first() is not None:
            return  # handled before: no second vendor call
    outcome = await _call(cmd, vendor)
    now = uow.clock.now()
    answer: Message
    if outcome.tenant_id is not None:
        answer = SubscriptionProvisioned(
            message_id=uuid.uuid5(_NAMESPACE, f"{cmd.change_id}:provisioned"),
            correlation_id=cmd.subscription_id,
            occurred_at=now,
            subscription_id=cmd.subscription_id,
            change_id=cmd.change_id,
            tenant_id=outcome.tenant_id,
        )
    else:
        answer = VendorSubscriptionFailed(
            message_id=uuid.uuid5(_NAMESPACE, f"{cmd.change_id}:failed"),
            correlation_id=cmd.subscription_id,
            occurred_at=now,
            subscription_id=cmd.subscription_id,
            change_id=cmd.change_id,
            reason=outcome.reason or "vendor_unavailable",
        )
    async with uow.transaction(cmd.message_id) as tx:
        if tx.duplicate:
            return
        tx.publish(answer)
    log.info(
        "vendor_subscription_answered",
        subscription_id=str(cmd.subscription_id),
        change_id=str(cmd.change_id),
        ok=outcome.tenant_id is not None,
        reason=outcome.reason,
    )


async def _call(
    cmd: ProvisionSubscription | UpdateVendorSubscription, vendor: VendorSubscriptions
) -> VendorOutcome:
    if isinstance(cmd, ProvisionSubscription):
        if cmd.test:
            return VendorOutcome(tenant_id=test_tenant(cmd.subscription_id))
        return await vendor.provision(
            cmd.vendor, str(cmd.change_id), str(cmd.subscription_id), cmd.sku, cmd.quantity
        )
    if cmd.test:
        return VendorOutcome(tenant_id=cmd.tenant_id)
    return await vendor.update(
        cmd.vendor, str(cmd.change_id), cmd.tenant_id, cmd.quantity, cmd.status
    )
