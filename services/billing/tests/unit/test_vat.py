"""VAT of lines and documents: the rate in force on the document date, VAT included in the
price rounded per line, exempt lines with their legal basis, totals per rate."""

from __future__ import annotations

import random
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest
from billing.domain.vat import (
    EXEMPT,
    EXEMPT_BASIS,
    UnknownVatRate,
    line_vat,
    normalise,
    rate_in_force,
    standard_rate,
    totals_by_rate,
    vat_included,
)

NEW_YEAR = date(2026, 1, 1)


class TestRateInForce:
    def test_standard_rate_is_22_from_2026(self) -> None:
        assert standard_rate(date(2025, 12, 31)) == 20
        assert standard_rate(NEW_YEAR) == 22

    def test_audiobook_priced_at_22_on_a_2025_document_is_taxed_at_20(self) -> None:
        assert rate_in_force("22", date(2025, 12, 31)) == "20"

    def test_audiobook_priced_at_20_on_a_2026_document_is_taxed_at_22(self) -> None:
        assert rate_in_force("20", NEW_YEAR) == "22"

    def test_reduced_rates_are_taken_as_given(self) -> None:
        assert rate_in_force("10", NEW_YEAR) == "10"
        assert rate_in_force("0", NEW_YEAR) == "0"

    @pytest.mark.parametrize("given", ["exempt", "Без НДС", " EXEMPT "])
    def test_exempt_spellings(self, given: str) -> None:
        assert normalise(given) == EXEMPT

    @pytest.mark.parametrize("given", ["22%", " 22 ", "22.0"])
    def test_percentage_spellings(self, given: str) -> None:
        assert normalise(given) == "22"

    @pytest.mark.parametrize("given", ["abc", "22.5", "-1", "100"])
    def test_unknown_rate_is_refused(self, given: str) -> None:
        with pytest.raises(UnknownVatRate):
            normalise(given)


class TestLineVat:
    def test_vat_included_in_the_price(self) -> None:
        assert vat_included(Decimal("610.00"), "22") == Decimal("110.00")
        assert vat_included(Decimal("120.00"), "20") == Decimal("20.00")

    def test_rounded_half_up_to_the_kopeck(self) -> None:
        # 1.00 × 22/122 = 0.18032… → 0.18; 0.61 × 22/122 = 0.110000 → 0.11; 2.44 → 0.44
        assert vat_included(Decimal("1.00"), "22") == Decimal("0.18")
        assert vat_included(Decimal("2.44"), "22") == Decimal("0.44")
        # 0.05 × 20/120 = 0.008333 → 0.01; 0.03 × 20/120 = 0.005 → 0.01 (half up)
        assert vat_included(Decimal("0.03"), "20") == Decimal("0.01")

    def test_exempt_line_has_no_vat_and_names_its_basis(self) -> None:
        vat = line_vat("exempt", Decimal("1500.00"), NEW_YEAR)
        assert vat.amount == Decimal("0.00")
        assert vat.basis == EXEMPT_BASIS == "НК РФ ст. 149 п. 2 пп. 26"
        assert vat.label == "Без НДС"

    def test_taxable_line(self) -> None:
        vat = line_vat("22", Decimal("499.00"), NEW_YEAR)
        assert (vat.rate, vat.amount, vat.basis, vat.label) == ("22", Decimal("89.98"), None, "22%")

    def test_per_line_rounding_over_many_lines(self) -> None:
        rng = random.Random(2026)
        amounts = [Decimal(rng.randint(1, 500_000)) / 100 for _ in range(5000)]
        vats = [line_vat("22", a, NEW_YEAR).amount for a in amounts]
        for amount, vat in zip(amounts, vats, strict=True):
            exact = amount * 22 / 122
            assert abs(vat - exact) <= Decimal("0.005")
            assert vat == exact.quantize(Decimal("0.01"), ROUND_HALF_UP)
        [total] = totals_by_rate(("22", a, v) for a, v in zip(amounts, vats, strict=True))
        assert total.amount == sum(amounts)
        assert total.vat_amount == sum(vats)  # the document's VAT is the sum of the lines'
        assert total.amount_without_vat == sum(amounts) - sum(vats)


class TestTotalsByRate:
    def test_totals_per_rate_exempt_first(self) -> None:
        totals = totals_by_rate(
            [
                ("22", Decimal("610.00"), Decimal("110.00")),
                ("exempt", Decimal("1500.00"), Decimal("0.00")),
                ("10", Decimal("110.00"), Decimal("10.00")),
                ("exempt", Decimal("0.01"), Decimal("0.00")),
                ("22", Decimal("1.00"), Decimal("0.18")),
            ]
        )
        assert [(t.rate, t.amount, t.vat_amount) for t in totals] == [
            ("exempt", Decimal("1500.01"), Decimal("0.00")),
            ("10", Decimal("110.00"), Decimal("10.00")),
            ("22", Decimal("611.00"), Decimal("110.18")),
        ]
