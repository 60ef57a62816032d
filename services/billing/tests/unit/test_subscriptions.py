"""The month-end charge against a hand-worked table: which state each day is billed for (the
highest sequence effective that day), the one proration formula, which months are due."""

from __future__ import annotations

import random
from datetime import date, timedelta
from decimal import Decimal

import pytest
from billing.domain.subscriptions import (
    Change,
    day_states,
    due_months,
    last_complete_month,
    month_total,
    next_month,
    vat_rate_of,
)
from esd_contracts.subscriptions.proration import month_charge


def ch(seq: int, day: date, seats: int, price: str, status: str = "active") -> Change:
    return Change(seq, day, seats, Decimal(price), "exempt", status)


def charge(changes: list[Change], month: date) -> Decimal:
    return month_charge(day_states(changes, month), month)


# (case, changes, month, seat-days, charge) — worked by hand:
# charge = Σ seats(day) × price / days_in_month, rounded once, half up, to the kopeck
TABLE = [
    (
        "created mid-month, 28-day February: days 15..28 × 3 seats = 42; 1000 × 42 / 28",
        [ch(1, date(2026, 2, 15), 3, "1000.00")],
        date(2026, 2, 1),
        42,
        "1500.00",
    ),
    (
        "several changes in one day, the last counts: 9 days × 2 + 22 days × 1 = 40; 310×40/31",
        [
            ch(1, date(2026, 3, 1), 2, "310.00"),
            ch(2, date(2026, 3, 10), 5, "310.00"),
            ch(3, date(2026, 3, 10), 1, "310.00"),
        ],
        date(2026, 3, 1),
        40,
        "400.00",
    ),
    (
        "suspended 11..20, resumed 21: 10×2 + 10×0 + 10×2 = 40 of a 30-day April; 300×40/30",
        [
            ch(1, date(2026, 4, 1), 2, "300.00"),
            ch(2, date(2026, 4, 11), 0, "300.00", "suspended"),
            ch(3, date(2026, 4, 21), 2, "300.00"),
        ],
        date(2026, 4, 1),
        40,
        "400.00",
    ),
    (
        "a whole leap February (29 days) from a subscription made in January: 100 × 29 / 29",
        [ch(1, date(2028, 1, 10), 1, "100.00")],
        date(2028, 2, 1),
        29,
        "100.00",
    ),
    (
        "created on the 28th of a 29-day February: 2 days; 100 × 2 / 29 = 6.8965… → 6.90",
        [ch(1, date(2028, 2, 28), 1, "100.00")],
        date(2028, 2, 1),
        2,
        "6.90",
    ),
    (
        "a change on the last day of a 31-day month: 30×2 + 1×5 = 65; 1000×65/31 = 2096.774…",
        [ch(1, date(2026, 1, 1), 2, "1000.00"), ch(2, date(2026, 1, 31), 5, "1000.00")],
        date(2026, 1, 1),
        65,
        "2096.77",
    ),
    (
        "created on the last day: 1 × 1000 / 31 = 32.258… → 32.26",
        [ch(1, date(2026, 1, 31), 1, "1000.00")],
        date(2026, 1, 1),
        1,
        "32.26",
    ),
    (
        "cancelled on the 16th: 15 days × 2 = 30; 310 × 30 / 31",
        [ch(1, date(2026, 3, 1), 2, "310.00"), ch(2, date(2026, 3, 16), 0, "310.00", "cancelled")],
        date(2026, 3, 1),
        30,
        "300.00",
    ),
    (
        "rounded once, half up: 0.01 × 15 / 30 = 0.005 → 0.01",
        [ch(1, date(2026, 4, 16), 1, "0.01")],
        date(2026, 4, 1),
        15,
        "0.01",
    ),
    (
        "the price changes with a quantity change: 10 × 300 + 20 × 600 over 30 days = 500",
        [ch(1, date(2026, 6, 1), 1, "300.00"), ch(2, date(2026, 6, 11), 1, "600.00")],
        date(2026, 6, 1),
        30,
        "500.00",
    ),
    (
        "a month before the subscription existed charges nothing",
        [ch(1, date(2026, 6, 1), 1, "300.00")],
        date(2026, 5, 1),
        0,
        "0.00",
    ),
]


@pytest.mark.parametrize(
    ("case", "changes", "month", "seat_days", "expected"), TABLE, ids=[t[0][:40] for t in TABLE]
)
def test_hand_worked_table(
    case: str, changes: list[Change], month: date, seat_days: int, expected: str
) -> None:
    assert sum(d.seats for d in day_states(changes, month).values()) == seat_days, case
    assert charge(changes, month) == Decimal(expected), case
    # the month-end run's set-based computation gives the same, to the kopeck
    assert month_total(changes, month) == (Decimal(expected), seat_days), case


def test_month_total_equals_month_charge_over_the_days_on_random_histories() -> None:
    """The month-end run computes ``month_total`` (pieces between changes, not days): it must
    equal ``proration.month_charge`` over ``day_states`` exactly, seat-days too."""
    rnd = random.Random(7)
    months = [date(2026, m, 1) for m in (1, 2, 4, 12)] + [date(2028, 2, 1)]
    for _ in range(1500):
        month = rnd.choice(months)
        changes = [
            Change(
                sequence=rnd.randint(1, 40),
                effective_date=month + timedelta(days=rnd.randint(-40, 40)),
                seats=rnd.choice([0, 1, 2, 3, 7, 250]),
                monthly_price=Decimal(rnd.randint(1, 9_999_999)) / 100,
                vat_rate="exempt",
                status=rnd.choice(["active", "suspended"]),
            )
            for _ in range(rnd.randint(0, 6))
        ]
        days = day_states(changes, month)
        expected = (month_charge(days, month), sum(d.seats for d in days.values()))
        assert month_total(changes, month) == expected, (changes, month)


def test_the_highest_sequence_counts_even_if_it_arrived_first() -> None:
    """Arrival order does not matter: the projection orders by sequence."""
    changes = [ch(3, date(2026, 3, 10), 1, "310.00"), ch(2, date(2026, 3, 10), 5, "310.00")]
    changes.append(ch(1, date(2026, 3, 1), 2, "310.00"))
    assert charge(changes, date(2026, 3, 1)) == Decimal("400.00")


def test_vat_rate_is_the_month_end_state_s() -> None:
    changes = [Change(1, date(2026, 3, 1), 1, Decimal("100"), "22", "active")]
    assert vat_rate_of(changes, date(2026, 3, 1)) == "22"
    assert vat_rate_of(changes, date(2026, 2, 1)) == "exempt"


class TestDueMonths:
    def test_months_complete_before_the_cutoff(self) -> None:
        # the cutoff is the closing's: documents dated before it are closed
        assert last_complete_month(date(2026, 2, 1)) == date(2026, 1, 1)
        assert last_complete_month(date(2026, 1, 31)) == date(2025, 12, 1)
        assert next_month(date(2026, 12, 1)) == date(2027, 1, 1)

    def test_from_the_first_uncharged_month(self) -> None:
        jan, feb, mar = date(2026, 1, 1), date(2026, 2, 1), date(2026, 3, 1)
        assert due_months(jan, None, None, mar) == [jan, feb, mar]
        assert due_months(jan, jan, None, mar) == [feb, mar]
        assert due_months(jan, mar, None, mar) == []

    def test_not_after_the_month_it_was_cancelled_in(self) -> None:
        jan, feb, apr = date(2026, 1, 1), date(2026, 2, 1), date(2026, 4, 1)
        assert due_months(jan, None, feb, apr) == [jan, feb]
        assert due_months(jan, feb, feb, apr) == []
