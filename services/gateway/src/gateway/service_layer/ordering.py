"""Order intake, reading with ``wait``, cancellation: the gateway's side of an order.

Intake writes the pending order row and stages ``PlaceOrder`` in one transaction; the saga's
outcome arrives as an event (see entrypoints/consumers.py) and wakes the waiters.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from esd_contracts.keys.queries import GetOrderKeys, IssuedKey, OrderKeys
from esd_contracts.orders.commands import CancelOrder, PlaceOrder
from esd_platform.delivery import DeliverySeal, SealBroken
from esd_platform.logging import get_logger
from sqlalchemy import Row

from gateway.adapters import repository
from gateway.adapters.queries import QueryFailed
from gateway.adapters.read_caches import FinalOrders
from gateway.domain import signing
from gateway.domain.errors import Conflict, NotFound, Refusal, Unavailable
from gateway.domain.ordering import OrderRequest, accept, fingerprint
from gateway.runtime import Gateway
from gateway.service_layer import catalog
from gateway.service_layer.callback_policy import check_at_intake

log = get_logger("esd.gateway.ordering")

FINAL_STATUSES = frozenset({"completed", "rejected", "failed", "cancelled"})
CANCEL_WAIT_SECONDS = 5.0


@dataclass(frozen=True)
class PlacedOrder:
    row: Row[Any]
    created: bool
    """False when an earlier request with the same body had created it (idempotent replay)."""


@dataclass(frozen=True)
class KeyLink:
    activation_code: str
    download_url: str
    download_expires_at: datetime


async def place_order(
    gateway: Gateway,
    partner_id: uuid.UUID,
    live: bool,
    request: OrderRequest,
    order_id: uuid.UUID | None = None,
) -> PlacedOrder:
    service = gateway.service
    check_at_intake(service, request.callback_url)  # no callbacks into our own network
    print_ = fingerprint(request)
    order_id = order_id or uuid.uuid4()
    now = service.clock.now()
    async with service.uow.transaction() as tx:
        # the statements every order runs go on the driver itself (esd_platform.db.Statement)
        product_row = await repository.product(tx.driver, request.sku)
        # the partner's price (its own rule, then its distributor's) is fixed here, at acceptance
        terms = (
            None
            if product_row is None
            else await catalog.partner_terms(tx.driver, partner_id, product_row)
        )
        try:
            priced = accept(request, terms)
        except Refusal:
            # a replay of an accepted order stays a replay even if the product changed since
            existing = await repository.order_by_external_id(
                tx.conn, partner_id, request.external_id
            )
            if existing is None:
                raise
            return _replay(existing, print_)
        assert product_row is not None
        row = await repository.insert_order(
            tx.driver,
            order_id=order_id,
            partner_id=partner_id,
            external_id=request.external_id,
            fingerprint=print_,
            sku=product_row.sku,
            name=product_row.name,
            quantity=request.quantity,
            priced=priced,
            test=request.test,
            callback_url=request.callback_url,
            created_at=now,
        )
        if row is None:
            existing = await repository.order_by_external_id(
                tx.conn, partner_id, request.external_id
            )
            assert existing is not None  # the unique constraint said it exists
            return _replay(existing, print_)
        tx.publish(
            PlaceOrder(
                correlation_id=order_id,
                occurred_at=now,
                order_id=order_id,
                partner_id=partner_id,
                partner_live=live,
                external_id=request.external_id,
                sku=product_row.sku,
                name=product_row.name,
                quantity=request.quantity,
                unit_price=priced.unit_price,
                amount=priced.amount,
                vat_rate=priced.vat_rate,
                vat_amount=priced.vat_amount,
                test=request.test,
                key_source=product_row.key_source,
                vendor=product_row.vendor,
                fields=priced.fields,
            )
        )
    return PlacedOrder(row, created=True)


def _replay(existing: Row[Any], print_: str) -> PlacedOrder:
    if existing.fingerprint != print_:
        raise Conflict(
            "idempotency_conflict",
            f"external_id {existing.external_id!r} was already used with another request body",
        )
    return PlacedOrder(existing, created=False)


async def read_order(gateway: Gateway, partner_id: uuid.UUID, order_id: uuid.UUID) -> Row[Any]:
    """The partner's order; a final one from memory once read (it never changes again)."""
    cached = gateway.final_orders.get(order_id, partner_id)
    if cached is not None:
        row: Row[Any] = cached[0]
        return row
    async with gateway.reads.connect() as conn:
        found = await repository.order(conn, order_id, partner_id)
    if found is None:
        raise NotFound("order")
    if found.status in FINAL_STATUSES and found.status != "completed":
        gateway.final_orders.put(found, ())  # a completed one is kept with its keys
    return found


async def place_and_wait(
    gateway: Gateway, partner_id: uuid.UUID, live: bool, request: OrderRequest, seconds: float
) -> PlacedOrder:
    """:func:`place_order`, then wait up to ``seconds`` for the outcome.

    The new order is watched from before it exists, so no notification can come before the
    watch, and the row just written is the first read.
    """
    order_id = uuid.uuid4()
    async with gateway.waiters.watch(order_id) as changed:
        placed = await place_order(gateway, partner_id, live, request, order_id)
        if placed.created:
            row = await _wait(gateway, partner_id, placed.row, seconds, changed)
            return PlacedOrder(row, created=True)
    if placed.row.status in FINAL_STATUSES:
        return placed
    row = await wait_until_final(gateway, partner_id, placed.row.id, seconds)
    return PlacedOrder(row, created=False)


async def wait_until_final(
    gateway: Gateway,
    partner_id: uuid.UUID,
    order_id: uuid.UUID,
    seconds: float,
    *,
    also: Any = None,
) -> Row[Any]:
    """Re-read the order whenever a notification names it, until final or ``seconds`` pass.

    ``also(row)`` may end the wait early on another condition (e.g. a refused cancel).
    """
    async with gateway.waiters.watch(order_id) as changed:
        row = await read_order(gateway, partner_id, order_id)
        return await _wait(gateway, partner_id, row, seconds, changed, also=also)


async def _wait(
    gateway: Gateway,
    partner_id: uuid.UUID,
    row: Row[Any],
    seconds: float,
    changed: asyncio.Event,
    *,
    also: Any = None,
) -> Row[Any]:
    """From ``row``, read as the watch ``changed`` began: re-read on each notification."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while row.status not in FINAL_STATUSES and not (also and also(row)):
        remaining = deadline - loop.time()
        if remaining <= 0:
            break
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(changed.wait(), remaining)
        changed.clear()
        row = await read_order(gateway, partner_id, row.id)
    return row


async def order_keys(gateway: Gateway, row: Row[Any]) -> list[KeyLink]:
    """The keys of a completed order, with signed download links: as the keys service sealed
    them into the order's outcome, else (an outcome without them) asked from it."""
    if row.status != "completed":
        return []
    cached = gateway.final_orders.get(row.id, row.partner_id)
    if cached is not None:
        keys: Sequence[IssuedKey] = cached[1]
    else:
        keys = _unsealed(gateway.delivery, row) or await issued_keys(
            gateway, row.id, row.partner_id
        )
        if keys:  # a completed order's keys are never exchanged: kept with its row
            gateway.final_orders.put(row, keys)
    return [_link(gateway, row.id, key) for key in keys]


def remember_final(final_orders: FinalOrders, delivery: DeliverySeal, row: Row[Any]) -> None:
    """Keep an order that just became final in this process (a completed one only with the
    keys it carries sealed), so its waiters and the next reads need no query."""
    if row.status != "completed":
        final_orders.put(row, ())
        return
    keys = _unsealed(delivery, row)
    if keys:
        final_orders.put(row, keys)


def _unsealed(delivery: DeliverySeal, row: Row[Any]) -> list[IssuedKey]:
    """The order's keys from its sealed copy; none when there is none or it does not open
    (another secret, say: the keys service still answers)."""
    if not row.sealed_keys:
        return []
    try:
        opened = delivery.open(row.id, row.sealed_keys)
    except SealBroken:
        log.warning("sealed_keys_unreadable", order_id=str(row.id))
        return []
    return [IssuedKey(key_id=key_id, activation_code=code) for key_id, code in opened]


async def keys_for(gateway: Gateway, order_id: uuid.UUID, partner_id: uuid.UUID) -> list[KeyLink]:
    """An order's keys from the keys service (its owner's only), with signed download links."""
    keys = await issued_keys(gateway, order_id, partner_id)
    return [_link(gateway, order_id, key) for key in keys]


async def issued_keys(
    gateway: Gateway, order_id: uuid.UUID, partner_id: uuid.UUID
) -> list[IssuedKey]:
    """An order's keys as the keys service keeps them (its owner's only)."""
    try:
        answer = await gateway.queries.ask(
            GetOrderKeys(
                correlation_id=order_id,
                occurred_at=gateway.service.clock.now(),
                order_id=order_id,
                partner_id=partner_id,
            ),
            OrderKeys,
        )
    except QueryFailed as exc:
        raise Unavailable("the keys service did not answer; retry shortly") from exc
    return list(answer.keys)


def _link(gateway: Gateway, order_id: uuid.UUID, key: IssuedKey) -> KeyLink:
    settings = gateway.settings
    expires_at = gateway.service.clock.now() + timedelta(days=settings.download_ttl_days)
    expires_at = expires_at.replace(microsecond=0)
    path = signing.sign(settings.download_secret, key.key_id, order_id, expires_at)
    return KeyLink(
        activation_code=key.activation_code,
        download_url=settings.public_base_url.rstrip("/") + path,
        download_expires_at=expires_at,
    )


async def list_orders(
    gateway: Gateway,
    partner_id: uuid.UUID,
    *,
    external_id: str | None,
    status: str | None,
    since: datetime | None,
    before: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Row[Any]]:
    async with gateway.service.engine.connect() as conn:
        return list(
            await repository.list_orders(
                conn,
                partner_id,
                external_id=external_id,
                status=status,
                since=since,
                before=before,
                limit=limit,
            )
        )


async def cancel_order(gateway: Gateway, partner_id: uuid.UUID, order_id: uuid.UUID) -> Row[Any]:
    """Ask the saga to cancel and wait briefly for its answer.

    Returns the order (``cancelled``, or still ``pending`` when the saga has not answered in
    time); raises ``not_cancellable`` once keys exist or the order ended otherwise.
    """
    service = gateway.service
    row = await read_order(gateway, partner_id, order_id)
    if row.status == "cancelled":
        return row
    if row.status != "pending":
        raise Conflict("not_cancellable", f"the order is {row.status}; it cannot be cancelled")
    async with gateway.waiters.watch(order_id):
        async with service.uow.transaction() as tx:
            await repository.clear_cancel_refused(tx.conn, order_id)
            tx.publish(
                CancelOrder(
                    correlation_id=order_id,
                    occurred_at=service.clock.now(),
                    order_id=order_id,
                    partner_id=partner_id,
                )
            )
        row = await wait_until_final(
            gateway, partner_id, order_id, CANCEL_WAIT_SECONDS, also=lambda r: r.cancel_refused
        )
    if row.status == "cancelled":
        return row
    if row.status in FINAL_STATUSES or row.cancel_refused:
        raise Conflict("not_cancellable", "keys are being or have been generated for this order")
    return row
