"""Pure document rules: Moscow days, numbers, due dates over a terms history, sums, status."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from billing.domain.documents import (
    DEFAULT_TERM_DAYS,
    MOSCOW,
    TermsChange,
    closing_cutoff,
    day_bounds,
    document_day,
    document_status,
    due_date,
    format_number,
    parse_number,
    term_in_force,
    totals,
)


class TestDocumentDay:
    def test_last_second_of_a_moscow_day_belongs_to_that_day(self) -> None:
        moment = datetime(2026, 3, 10, 23, 59, 59, tzinfo=MOSCOW)
        assert document_day(moment) == date(2026, 3, 10)

    def test_moscow_midnight_belongs_to_the_next_day(self) -> None:
        moment = datetime(2026, 3, 11, 0, 0, 0, tzinfo=MOSCOW)
        assert document_day(moment) == date(2026, 3, 11)

    def test_utc_evening_is_already_tomorrow_in_moscow(self) -> None:
        # 21:00 UTC is 00:00 in Moscow (UTC+3)
        assert document_day(datetime(2026, 3, 10, 21, 0, tzinfo=UTC)) == date(2026, 3, 11)
        assert document_day(datetime(2026, 3, 10, 20, 59, 59, tzinfo=UTC)) == date(2026, 3, 10)

    def test_other_offsets_are_converted(self) -> None:
        vladivostok = timezone(timedelta(hours=10))
        moment = datetime(2026, 3, 11, 6, 30, tzinfo=vladivostok)  # 23:30 Moscow on the 10th
        assert document_day(moment) == date(2026, 3, 10)

    def test_naive_moment_is_taken_as_utc(self) -> None:
        assert document_day(datetime(2026, 3, 10, 21, 0)) == date(2026, 3, 11)

    def test_day_bounds_are_moscow_midnights_in_utc(self) -> None:
        start, end = day_bounds(date(2026, 3, 11))
        assert start == datetime(2026, 3, 10, 21, 0, tzinfo=UTC)
        assert end == datetime(2026, 3, 11, 21, 0, tzinfo=UTC)


class TestClosingCutoff:
    def test_day_closes_only_after_the_grace_past_moscow_midnight(self) -> None:
        grace = timedelta(minutes=5)
        just_after_midnight = datetime(2026, 3, 11, 0, 3, tzinfo=MOSCOW)
        assert closing_cutoff(just_after_midnight, grace) == date(2026, 3, 10)  # 10th still open
        after_grace = datetime(2026, 3, 11, 0, 5, tzinfo=MOSCOW)
        assert closing_cutoff(after_grace, grace) == date(2026, 3, 11)  # the 10th closes

    def test_without_grace_the_day_closes_at_midnight(self) -> None:
        midnight = datetime(2026, 3, 11, 0, 0, tzinfo=MOSCOW)
        assert closing_cutoff(midnight, timedelta(0)) == date(2026, 3, 11)


class TestNumbering:
    def test_number_is_prefix_year_and_six_digits(self) -> None:
        assert format_number(2026, 1) == "ESD-2026-000001"
        assert format_number(2026, 123456) == "ESD-2026-123456"

    def test_sequence_beyond_six_digits_keeps_growing(self) -> None:
        assert format_number(2026, 1_000_000) == "ESD-2026-1000000"

    def test_sequence_starts_at_one(self) -> None:
        with pytest.raises(ValueError, match="start at 1"):
            format_number(2026, 0)

    @pytest.mark.parametrize(
        ("number", "parsed"),
        [
            ("ESD-2026-000042", (2026, 42)),
            ("ESD-26-000042", None),
            ("XYZ-2026-000042", None),
            ("ESD-2026-00004x", None),
            ("garbage", None),
        ],
    )
    def test_parse_number(self, number: str, parsed: tuple[int, int] | None) -> None:
        assert parse_number(number) == parsed


def at(day: str, hour: int = 12) -> datetime:
    y, m, d = map(int, day.split("-"))
    return datetime(y, m, d, hour, tzinfo=MOSCOW)


class TestTermInForce:
    def test_default_term_while_no_terms_arrived(self) -> None:
        assert term_in_force([], date(2026, 3, 1)) == DEFAULT_TERM_DAYS == 15

    def test_initial_term_applies_from_its_day(self) -> None:
        history = [TermsChange(at("2026-03-01"), 30)]
        assert term_in_force(history, date(2026, 3, 1)) == 30
        assert term_in_force(history, date(2026, 2, 28)) == DEFAULT_TERM_DAYS

    def test_latest_change_on_or_before_the_day_wins(self) -> None:
        history = [
            TermsChange(at("2026-03-01"), 15),
            TermsChange(at("2026-03-10"), 30),
            TermsChange(at("2026-03-20"), 7),
        ]
        assert term_in_force(history, date(2026, 3, 9)) == 15
        assert term_in_force(history, date(2026, 3, 10)) == 30
        assert term_in_force(history, date(2026, 3, 19)) == 30
        assert term_in_force(history, date(2026, 4, 1)) == 7

    def test_order_of_arrival_does_not_matter(self) -> None:
        history = [TermsChange(at("2026-03-10", 15), 45), TermsChange(at("2026-03-10", 9), 30)]
        assert term_in_force(history, date(2026, 3, 10)) == 45

    def test_change_late_in_the_moscow_evening_counts_for_that_moscow_day(self) -> None:
        change = TermsChange(datetime(2026, 3, 10, 20, 30, tzinfo=UTC), 60)  # 23:30 Moscow
        assert term_in_force([change], date(2026, 3, 10)) == 60


class TestDueDate:
    def test_due_date_is_calendar_days_after_the_document(self) -> None:
        assert due_date(date(2026, 2, 20), 15) == date(2026, 3, 7)
        assert due_date(date(2026, 12, 25), 15) == date(2027, 1, 9)

    def test_due_date_with_terms_history(self) -> None:
        history = [TermsChange(at("2026-01-01"), 15), TermsChange(at("2026-02-01"), 45)]
        day = date(2026, 2, 3)
        assert due_date(day, term_in_force(history, day)) == date(2026, 3, 20)


class TestTotalsAndVat:
    def test_totals_are_exact_to_the_kopeck(self) -> None:
        lines = [(Decimal("0.10"), Decimal("0.00"))] * 1000 + [
            (Decimal("100.01"), Decimal("16.67"))
        ]
        result = totals(lines)
        assert result.amount == Decimal("200.01")
        assert result.vat_amount == Decimal("16.67")


class TestStatus:
    def test_unpaid_before_due_is_open(self) -> None:
        assert (
            document_status(Decimal("10"), Decimal("0"), date(2026, 3, 1), date(2026, 3, 1))
            == "open"
        )

    def test_unpaid_after_due_is_overdue(self) -> None:
        assert (
            document_status(Decimal("10"), Decimal("0"), date(2026, 3, 1), date(2026, 3, 2))
            == "overdue"
        )

    def test_fully_paid_is_paid_even_after_due(self) -> None:
        assert (
            document_status(Decimal("10"), Decimal("10"), date(2026, 3, 1), date(2026, 4, 1))
            == "paid"
        )

    def test_partly_paid_after_due_is_overdue(self) -> None:
        assert (
            document_status(Decimal("10"), Decimal("5"), date(2026, 3, 1), date(2026, 4, 1))
            == "overdue"
        )
