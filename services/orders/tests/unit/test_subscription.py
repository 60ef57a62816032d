"""Lifecycle rules of a subscription (pure): what each action asks of the vendor, what a
confirmation or refusal does, and this month's charges and the credit check."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from orders.domain.subscription import (
    Refused,
    Subscription,
    check_credit,
    fingerprint,
    projected_month,
)

NOW = datetime(2026, 11, 10, 9, 0, tzinfo=UTC)
DAY = date(2026, 11, 10)  # November: 30 days
PRICE = Decimal("300.00")  # 10.00 a seat-day in November


def new(quantity: int = 3, test: bool = False, today: date = DAY) -> Subscription:
    return Subscription.create(
        subscription_id=uuid.uuid4(),
        partner_id=uuid.uuid4(),
        external_id="s-1",
        sku="B24-STD-1M",
        name="Битрикс24",
        vendor="bitrix",
        quantity=quantity,
        monthly_price=PRICE,
        vat_rate="exempt",
        test=test,
        today=today,
        now=NOW,
    )


def active(quantity: int = 3) -> Subscription:
    sub = new(quantity)
    assert sub.pending is not None
    assert sub.confirm(sub.pending.change_id, "T-1", NOW) is not None
    return sub


def apply(sub: Subscription, action: str, quantity: int | None = None, day: date = DAY) -> None:
    pending = sub.request(action, quantity, day, NOW)
    assert pending is not None
    assert sub.confirm(pending.change_id, "T-1", NOW) is not None


def test_create_is_pending_until_the_vendor_confirms_it_then_sequence_1() -> None:
    sub = new()
    assert (sub.status, sub.sequence, sub.history) == ("pending", 0, [])
    assert sub.pending is not None
    event = sub.confirm(sub.pending.change_id, "T-9", NOW)
    assert event is not None
    assert (event.change, event.status, event.sequence, event.seats) == ("created", "active", 1, 3)
    assert event.effective_date == DAY
    assert (sub.status, sub.tenant_id) == ("active", "T-9")
    assert sub.pending is None


def test_a_confirmation_of_another_change_or_a_second_one_does_nothing() -> None:
    sub = new()
    assert sub.pending is not None
    change_id = sub.pending.change_id
    assert sub.confirm(uuid.uuid4(), "T-1", NOW) is None
    assert sub.confirm(change_id, "T-1", NOW) is not None
    assert sub.confirm(change_id, "T-1", NOW) is None  # redelivered: nothing doubled
    assert len(sub.history) == 1


def test_each_change_is_one_event_in_sequence_with_the_seats_billed() -> None:
    sub = active(3)
    seen = []
    for action, quantity in (
        ("quantity", 5),
        ("suspend", None),
        ("resume", None),
        ("cancel", None),
    ):
        pending = sub.request(action, quantity, DAY, NOW)
        assert pending is not None
        event = sub.confirm(pending.change_id, "T-1", NOW)
        assert event is not None
        seen.append((event.change, event.status, event.quantity, event.seats, event.sequence))
    assert seen == [
        ("quantity_changed", "active", 5, 5, 2),
        ("suspended", "suspended", 5, 0, 3),
        ("resumed", "active", 5, 5, 4),
        ("cancelled", "cancelled", 5, 0, 5),
    ]


def test_a_cancelled_subscription_cannot_be_resumed_or_changed() -> None:
    sub = active()
    apply(sub, "cancel")
    with pytest.raises(Refused) as refused:
        sub.request("resume", None, DAY, NOW)
    assert (refused.value.code, refused.value.status) == ("not_resumable", 409)
    with pytest.raises(Refused) as refused:
        sub.request("quantity", 4, DAY, NOW)
    assert refused.value.code == "invalid_state"
    assert sub.request("cancel", None, DAY, NOW) is None  # cancelling again: already so


def test_asking_what_already_holds_changes_nothing() -> None:
    sub = active(3)
    assert sub.request("quantity", 3, DAY, NOW) is None
    assert sub.request("resume", None, DAY, NOW) is None
    apply(sub, "suspend")
    assert sub.request("suspend", None, DAY, NOW) is None


def test_one_change_at_a_time_and_the_same_ask_again_is_not_a_second() -> None:
    sub = active(3)
    assert sub.request("quantity", 4, DAY, NOW) is not None
    assert sub.request("quantity", 4, DAY, NOW) is None
    with pytest.raises(Refused) as refused:
        sub.request("suspend", None, DAY, NOW)
    assert refused.value.code == "change_pending"


def test_a_vendor_refusal_keeps_the_last_confirmed_state_visibly() -> None:
    sub = active(3)
    pending = sub.request("quantity", 7, DAY, NOW)
    assert pending is not None
    assert sub.refuse(pending.change_id, "vendor_unavailable", NOW)
    assert (sub.status, sub.quantity, sub.pending) == ("active", 3, None)
    assert sub.vendor_error == "vendor_unavailable"
    assert len(sub.history) == 1
    apply(sub, "quantity", 4)  # the next confirmed change clears the error
    assert sub.vendor_error is None


def test_a_refused_creation_fails_the_subscription() -> None:
    sub = new()
    assert sub.pending is not None
    assert sub.refuse(sub.pending.change_id, "vendor_unavailable", NOW)
    assert sub.status == "failed"
    with pytest.raises(Refused):
        sub.request("quantity", 2, DAY, NOW)


def test_invalid_quantity_is_refused_as_422() -> None:
    with pytest.raises(Refused) as refused:
        active().request("quantity", 0, DAY, NOW)
    assert (refused.value.code, refused.value.status) == ("invalid_quantity", 422)


def test_charges_so_far_and_forecast_follow_the_days_held() -> None:
    # created on the 10th with 3 seats: days 10..30 = 21 days × 3 × 10.00
    sub = active(3)
    assert sub.charges(DAY) == (Decimal("30.00"), Decimal("630.00"))
    # on the 20th: suspended — 10 days × 3 held so far (10th..19th), nothing from the 20th
    apply(sub, "suspend", day=date(2026, 11, 20))
    assert sub.charges(date(2026, 11, 20)) == (Decimal("300.00"), Decimal("300.00"))
    # resumed the same day with a change of seats later that day: the last one counts
    apply(sub, "resume", day=date(2026, 11, 20))
    apply(sub, "quantity", 1, day=date(2026, 11, 20))
    assert sub.charges(date(2026, 11, 20)) == (Decimal("310.00"), Decimal("410.00"))


def test_test_subscriptions_charge_nothing() -> None:
    sub = new(test=True)
    assert sub.pending is not None
    sub.confirm(sub.pending.change_id, "TEST-1", NOW)
    assert sub.charges(DAY) == (Decimal("0.00"), Decimal("0.00"))


def test_credit_check_refuses_when_blocked_or_beyond_available() -> None:
    check_credit(Decimal("630.00"), Decimal("630.00"), False, False)
    with pytest.raises(Refused) as refused:
        check_credit(Decimal("630.01"), Decimal("630.00"), False, False)
    assert refused.value.code == "credit_limit_exceeded"
    with pytest.raises(Refused) as refused:
        check_credit(Decimal("1.00"), Decimal("999.00"), True, False)
    assert refused.value.code == "partner_blocked_overdue"
    check_credit(Decimal("1.00"), None, True, True)  # test subscriptions: no credit


def test_an_increase_is_what_credit_is_checked_for() -> None:
    sub = active(3)
    up = sub.request("quantity", 5, DAY, NOW)
    assert up is not None
    assert sub.increases(up)
    sub.refuse(up.change_id, "x", NOW)
    down = sub.request("quantity", 2, DAY, NOW)
    assert down is not None
    assert not sub.increases(down)


def test_fingerprint_tells_bodies_apart() -> None:
    assert fingerprint("A", 1, False) == fingerprint("A", 1, False)
    assert fingerprint("A", 1, False) != fingerprint("A", 2, False)
    assert fingerprint("A", 1, False) != fingerprint("A", 1, True)


def test_the_partners_projection_counts_pending_changes_as_confirmed() -> None:
    confirmed = active(3)  # 21 days × 3 × 10.00
    creating = new(2)  # pending create: 21 days × 2 × 10.00
    increasing = active(1)
    assert increasing.request("quantity", 4, DAY, NOW) is not None  # 21 × 4 × 10.00
    assert projected_month([confirmed, creating, increasing, new(5, test=True)], DAY) == Decimal(
        "1890.00"
    )
