"""Which months of a subscription are due, and what each day of a month is billed for. Pure.

The projection keeps every confirmed ``SubscriptionChanged``; a day is billed for the state of
the highest ``sequence`` among the changes effective on or before it (several changes in one
day: the last one counts). The charge itself is ``esd_contracts.subscriptions.proration``'s.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import NamedTuple

from esd_contracts.subscriptions.proration import (
    DayState,
    days_in_month,
    last_day_of_month,
    month_days,
    round_kopecks,
)


@dataclass(frozen=True)
class Change:
    """One confirmed change as the projection keeps it."""

    sequence: int
    effective_date: date
    seats: int
    monthly_price: Decimal
    vat_rate: str
    status: str


def month_of(day: date) -> date:
    return day.replace(day=1)


def next_month(month: date) -> date:
    return (month.replace(day=28) + timedelta(days=4)).replace(day=1)


def last_complete_month(cutoff: date) -> date:
    """The latest month whose every day is before ``cutoff`` (the day closing's cutoff)."""
    return month_of(month_of(cutoff) - timedelta(days=1))


def due_months(
    first_month: date, charged_through: date | None, ended_month: date | None, upto: date
) -> list[date]:
    """Months not charged yet, up to ``upto`` and not after the month it was cancelled in."""
    month = first_month if charged_through is None else next_month(charged_through)
    last = upto if ended_month is None else min(upto, ended_month)
    months = []
    while month <= last:
        months.append(month)
        month = next_month(month)
    return months


def state_on(changes: Sequence[Change], day: date) -> Change | None:
    """The change in force on ``day``: the highest sequence effective on or before it."""
    best: Change | None = None
    for change in changes:
        if change.effective_date <= day and (best is None or change.sequence > best.sequence):
            best = change
    return best


def day_states(changes: Iterable[Change], month: date) -> dict[date, DayState]:
    """Every day of ``month`` on which the subscription existed, with its seats and price."""
    ordered = list(changes)
    days: dict[date, DayState] = {}
    for day in month_days(month):
        state = state_on(ordered, day)
        if state is not None:
            days[day] = DayState(seats=state.seats, monthly_price=state.monthly_price)
    return days


def vat_rate_of(changes: Iterable[Change], month: date) -> str:
    """The product's VAT rate as the month's last state carries it."""
    ordered = list(changes)
    state = state_on(ordered, last_day_of_month(month))
    return state.vat_rate if state is not None else "exempt"


class MonthTotal(NamedTuple):
    """A month's charge and seat-days of one subscription."""

    amount: Decimal
    seat_days: int


def month_total(changes: Sequence[Change], month: date) -> MonthTotal:
    """``proration.month_charge(day_states(changes, month), month)`` and the seat-days, without
    walking the days: the state in force only changes on a change's effective date, so the
    month is cut there and each piece counts ``seats × price × its days``; the sum is exact and
    rounded once (``proration.round_kopecks``), the same result to the kopeck (a unit test
    compares the two on many random histories)."""
    first = month_of(month)
    end = next_month(first)
    cuts = sorted({first} | {c.effective_date for c in changes if first < c.effective_date < end})
    total = Fraction(0)
    seat_days = 0
    for start, stop in zip(cuts, [*cuts[1:], end], strict=True):
        state = state_on(changes, start)
        if state is None:
            continue
        days = (stop - start).days
        total += Fraction(state.monthly_price) * (state.seats * days)
        seat_days += state.seats * days
    return MonthTotal(round_kopecks(total / days_in_month(first)), seat_days)
