"""The saga's keys step: the vendor travels to IssueKeys; out_of_stock ends rejected, not failed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

from esd_contracts.credit.commands import ReleaseCredit
from esd_contracts.credit.events import CreditReleased, CreditReserved
from esd_contracts.keys.commands import IssueKeys
from esd_contracts.keys.events import KeysFailed
from esd_contracts.orders.commands import PlaceOrder
from esd_contracts.orders.events import OrderFailed, OrderRejected
from orders.domain.saga import OrderSaga, State

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def place(*, test: bool = False, vendor: str = "Kaspersky") -> PlaceOrder:
    order_id = uuid.uuid4()
    return PlaceOrder(
        correlation_id=order_id,
        occurred_at=NOW,
        order_id=order_id,
        partner_id=uuid.uuid4(),
        partner_live=True,
        external_id="shop-1",
        sku="KIS-2Y",
        name="Kaspersky",
        quantity=3,
        unit_price=Decimal("1500.00"),
        amount=Decimal("4500.00"),
        vat_rate="exempt",
        vat_amount=Decimal("0.00"),
        test=test,
        key_source="vendor_api",
        vendor=vendor,
    )


def meta(saga: OrderSaga) -> dict[str, object]:
    return {
        "correlation_id": saga.order_id,
        "occurred_at": NOW,
        "order_id": saga.order_id,
        "partner_id": saga.partner_id,
    }


def reserved(saga: OrderSaga) -> CreditReserved:
    return CreditReserved(**meta(saga), amount=saga.amount)


def keys_failed(saga: OrderSaga, reason: str) -> KeysFailed:
    return KeysFailed(**meta(saga), reason=reason)


def released(saga: OrderSaga) -> CreditReleased:
    return CreditReleased(**meta(saga))


class TestVendorReachesIssueKeys:
    def test_a_real_order_names_its_vendor(self) -> None:
        saga, _ = OrderSaga.accept(place(vendor="Kaspersky"), NOW)
        [issue] = saga.handle(reserved(saga), NOW)
        assert isinstance(issue, IssueKeys)
        assert (issue.vendor, issue.key_source) == ("Kaspersky", "vendor_api")

    def test_a_test_order_names_its_vendor(self) -> None:
        _, [issue] = OrderSaga.accept(place(test=True, vendor="ESET"), NOW)
        assert isinstance(issue, IssueKeys)
        assert issue.vendor == "ESET"

    def test_an_old_place_order_without_vendor_still_parses(self) -> None:
        body = place().model_dump(mode="json")
        del body["vendor"]
        assert PlaceOrder.model_validate(body).vendor == ""


class TestOutOfStock:
    def test_releases_the_credit_then_rejects(self) -> None:
        saga, _ = OrderSaga.accept(place(), NOW)
        saga.handle(reserved(saga), NOW)
        [release] = saga.handle(keys_failed(saga, "out_of_stock"), NOW)
        assert isinstance(release, ReleaseCredit)
        [rejected] = saga.handle(released(saga), NOW)
        assert isinstance(rejected, OrderRejected)
        assert (saga.state, saga.reason, rejected.reason) == (
            State.REJECTED,
            "out_of_stock",
            "out_of_stock",
        )
        # late repeats of the replies change nothing
        assert saga.handle(released(saga), NOW) == []
        assert saga.handle(keys_failed(saga, "out_of_stock"), NOW) == []
        assert saga.state is State.REJECTED

    def test_vendor_unavailable_still_fails(self) -> None:
        saga, _ = OrderSaga.accept(place(), NOW)
        saga.handle(reserved(saga), NOW)
        saga.handle(keys_failed(saga, "vendor_unavailable"), NOW)
        [failed] = saga.handle(released(saga), NOW)
        assert isinstance(failed, OrderFailed)
        assert (saga.state, saga.reason) == (State.FAILED, "vendor_unavailable")
