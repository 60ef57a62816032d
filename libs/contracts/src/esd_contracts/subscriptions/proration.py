"""The one proration formula: a month is charged for the seats held on each of its days.

``charge = Σ_days seats(day) × monthly_price(day) / days_in_month``, summed exactly and rounded
once (half up, to the kopeck) per subscription per month. Pure: stdlib and Decimal only.
"""

from __future__ import annotations

import calendar
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from fractions import Fraction

KOPECK = Decimal("0.01")


@dataclass(frozen=True)
class DayState:
    """What one day is billed for."""

    seats: int
    monthly_price: Decimal


def days_in_month(day: date) -> int:
    return calendar.monthrange(day.year, day.month)[1]


def month_days(month: date) -> list[date]:
    """Every calendar day of ``month``'s month."""
    first = month.replace(day=1)
    return [first + timedelta(days=i) for i in range(days_in_month(first))]


def last_day_of_month(day: date) -> date:
    return day.replace(day=days_in_month(day))


def exact_charge(days: Mapping[date, DayState], month: date) -> Fraction:
    """The unrounded charge of ``month`` from the days of it found in ``days`` (others: 0)."""
    first = month.replace(day=1)
    seat_price_days = sum(
        (
            Fraction(state.monthly_price) * state.seats
            for day, state in days.items()
            if (day.year, day.month) == (first.year, first.month)
        ),
        Fraction(0),
    )
    return seat_price_days / days_in_month(first)


def round_kopecks(value: Fraction) -> Decimal:
    """Half up (away from zero) to the kopeck, once, from an exact value."""
    scaled = abs(value) * 100
    whole, rest = divmod(scaled.numerator, scaled.denominator)
    if 2 * rest >= scaled.denominator:
        whole += 1
    return (Decimal(-whole if value < 0 else whole) / 100).quantize(KOPECK)


def month_charge(days: Mapping[date, DayState], month: date) -> Decimal:
    """The month's charge of one subscription, rounded once to the kopeck."""
    return round_kopecks(exact_charge(days, month))
