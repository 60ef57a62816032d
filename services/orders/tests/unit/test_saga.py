"""The order saga, table-driven: every (state, reply) pair is legal, stale or illegal."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from esd_contracts.billing.commands import RecordShipment
from esd_contracts.credit.commands import ReleaseCredit, ReserveCredit
from esd_contracts.credit.events import (
    CreditCaptured,
    CreditRefused,
    CreditReleased,
    CreditReserved,
)
from esd_contracts.envelope import Message
from esd_contracts.keys.commands import IssueKeys
from esd_contracts.keys.events import KeysFailed, KeysIssued
from esd_contracts.orders.commands import CancelOrder, PlaceOrder
from esd_contracts.orders.events import (
    CancellationRefused,
    OrderCancelled,
    OrderCompleted,
    OrderFailed,
    OrderRejected,
)
from orders.domain.saga import _STALE, _TRANSITIONS, REPLIES, IllegalTransition, OrderSaga, State

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PARTNER = uuid.UUID("00000000-0000-0000-0000-0000000000aa")


def place(test: bool = False, live: bool = True) -> PlaceOrder:
    order_id = uuid.uuid4()
    return PlaceOrder(
        correlation_id=order_id,
        occurred_at=NOW,
        order_id=order_id,
        partner_id=PARTNER,
        partner_live=live,
        external_id="shop-1",
        sku="KIS-2Y",
        name="Kaspersky",
        quantity=3,
        unit_price=Decimal("1500.00"),
        amount=Decimal("4500.00"),
        vat_rate="exempt",
        vat_amount=Decimal("0.00"),
        test=test,
        key_source="generator",
    )


def reply(kind: type[Message], saga: OrderSaga) -> Message:
    common: dict[str, Any] = {
        "correlation_id": saga.order_id,
        "occurred_at": NOW,
        "order_id": saga.order_id,
        "partner_id": saga.partner_id,
    }
    extra: dict[type[Message], dict[str, Any]] = {
        CreditReserved: {"amount": saga.amount},
        CreditRefused: {"reason": "credit_limit_exceeded"},
        KeysIssued: {"key_ids": tuple(uuid.uuid4() for _ in range(saga.quantity))},
        KeysFailed: {"reason": "vendor_unavailable"},
        CreditCaptured: {"amount": saga.amount, "document_number": "ESD-2026-000001"},
        CreditReleased: {},
        CancelOrder: {},
    }
    return kind(**common, **extra[kind])


def saga_in(state: State, test: bool = False) -> OrderSaga:
    saga, _ = OrderSaga.accept(place(test=test), NOW)
    saga.state = state
    return saga


class TestAccept:
    def test_live_order_reserves_credit_first(self) -> None:
        saga, out = OrderSaga.accept(place(), NOW)
        assert saga.state is State.ACCEPTED
        assert [type(m) for m in out] == [ReserveCredit]
        assert out[0].amount == Decimal("4500.00")  # type: ignore[attr-defined]

    def test_test_order_goes_straight_to_keys(self) -> None:
        _, out = OrderSaga.accept(place(test=True), NOW)
        assert [type(m) for m in out] == [IssueKeys]
        assert out[0].test is True  # type: ignore[attr-defined]

    def test_partner_not_live_is_rejected_with_the_code(self) -> None:
        saga, out = OrderSaga.accept(place(live=False), NOW)
        assert saga.state is State.REJECTED
        assert saga.reason == "partner_not_live"
        assert [type(m) for m in out] == [OrderRejected]

    def test_step_message_ids_are_derived_from_the_order(self) -> None:
        cmd = place()
        _, first = OrderSaga.accept(cmd, NOW)
        _, again = OrderSaga.accept(cmd, NOW)
        assert first[0].message_id == again[0].message_id


class TestHappyPath:
    def test_live_order_runs_through_every_state_to_completed(self) -> None:
        saga, _ = OrderSaga.accept(place(), NOW)
        steps: list[tuple[type[Message], State, type[Message]]] = [
            (CreditReserved, State.CREDIT_RESERVED, IssueKeys),
            (KeysIssued, State.KEYS_ISSUED, RecordShipment),
            # credit captures on billing's ShipmentRecorded: its answer says billed and captured
            (CreditCaptured, State.COMPLETED, OrderCompleted),
        ]
        for event, state, sent in steps:
            out = saga.handle(reply(event, saga), NOW)
            assert saga.state is state
            assert [type(m) for m in out] == [sent]
        assert saga.passed == [State.BILLED]  # the history keeps a line for it
        assert saga.document_number == "ESD-2026-000001"
        assert out[0].document_number == "ESD-2026-000001"  # type: ignore[attr-defined]
        assert saga.key_count == 3

    def test_a_transition_through_one_state_passes_none(self) -> None:
        saga = saga_in(State.ACCEPTED)
        saga.passed = [State.BILLED]  # left from the last transition
        saga.handle(reply(CreditReserved, saga), NOW)
        assert saga.passed == []

    def test_a_saga_left_in_billed_by_the_previous_flow_completes_on_its_capture(self) -> None:
        """Before credit captured on ShipmentRecorded, the saga sent CaptureCredit from BILLED."""
        saga = saga_in(State.BILLED)
        saga.document_number = "ESD-2026-000001"
        out = saga.handle(
            reply(CreditCaptured, saga).model_copy(update={"document_number": None}), NOW
        )
        assert saga.state is State.COMPLETED
        assert saga.passed == []
        assert out[0].document_number == "ESD-2026-000001"  # type: ignore[attr-defined]

    def test_test_order_completes_on_keys_with_no_charge(self) -> None:
        saga, _ = OrderSaga.accept(place(test=True), NOW)
        out = saga.handle(reply(KeysIssued, saga), NOW)
        assert saga.state is State.COMPLETED
        assert out[0].amount == Decimal("0.00")  # type: ignore[attr-defined]


class TestRefusalAndCompensation:
    def test_credit_refused_rejects_with_its_reason(self) -> None:
        saga = saga_in(State.ACCEPTED)
        out = saga.handle(reply(CreditRefused, saga), NOW)
        assert (saga.state, saga.reason) == (State.REJECTED, "credit_limit_exceeded")
        assert [type(m) for m in out] == [OrderRejected]

    def test_vendor_failure_releases_credit_then_fails(self) -> None:
        saga = saga_in(State.CREDIT_RESERVED)
        out = saga.handle(reply(KeysFailed, saga), NOW)
        assert saga.state is State.RELEASING_CREDIT
        assert [type(m) for m in out] == [ReleaseCredit]
        out = saga.handle(reply(CreditReleased, saga), NOW)
        # mypy keeps saga.state narrowed to RELEASING_CREDIT across handle(), and so takes the
        # rest of this test for unreachable
        assert saga.state is State.FAILED  # type: ignore[comparison-overlap]
        assert [type(m) for m in out] == [OrderFailed]
        assert out[0].reason == "vendor_unavailable"

    def test_cancel_before_keys_cancels_and_a_late_reservation_is_released(self) -> None:
        saga = saga_in(State.ACCEPTED)
        out = saga.handle(reply(CancelOrder, saga), NOW)
        assert saga.state is State.CANCELLED
        assert [type(m) for m in out] == [OrderCancelled]
        out = saga.handle(reply(CreditReserved, saga), NOW)
        assert [type(m) for m in out] == [ReleaseCredit]

    @pytest.mark.parametrize("state", [State.CREDIT_RESERVED, State.KEYS_ISSUED, State.COMPLETED])
    def test_cancel_after_key_generation_started_is_refused(self, state: State) -> None:
        saga = saga_in(state)
        out = saga.handle(reply(CancelOrder, saga), NOW)
        assert saga.state is state
        assert [type(m) for m in out] == [CancellationRefused]


ALL_PAIRS = [(state, kind) for state in State for kind in REPLIES]


@pytest.mark.parametrize(("state", "kind"), ALL_PAIRS, ids=lambda v: getattr(v, "__name__", v))
def test_every_pair_is_legal_stale_or_illegal(state: State, kind: type[Message]) -> None:
    saga = saga_in(state)
    message = reply(kind, saga)
    if (state, kind) in _STALE:
        assert saga.handle(message, NOW) == []
        assert saga.state is state
    elif (state, kind) in _TRANSITIONS and not (
        state is State.ACCEPTED and kind in (KeysIssued, KeysFailed)
    ):
        saga.handle(message, NOW)  # legal: must not raise
    else:
        with pytest.raises(IllegalTransition):
            saga.handle(message, NOW)


def test_a_real_order_never_takes_keys_before_credit() -> None:
    saga = saga_in(State.ACCEPTED, test=False)
    with pytest.raises(IllegalTransition):
        saga.handle(reply(KeysIssued, saga), NOW)


def test_a_test_order_never_takes_credit_replies() -> None:
    saga = saga_in(State.ACCEPTED, test=True)
    with pytest.raises(IllegalTransition):
        saga.handle(reply(CreditReserved, saga), NOW)


def test_money_is_kept_in_kopecks_as_the_row_keeps_it() -> None:
    odd = {
        "unit_price": Decimal("0.125"),
        "amount": Decimal("0.375"),
        "vat_amount": Decimal("-0.005"),
    }
    saga, _ = OrderSaga.accept(place().model_copy(update=odd), NOW)
    assert (saga.unit_price, saga.amount, saga.vat_amount) == (
        Decimal("0.13"),
        Decimal("0.38"),
        Decimal("-0.01"),  # halves away from zero, as PostgreSQL's numeric
    )
