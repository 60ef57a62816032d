"""VAT rates in force by day, with their legal basis."""

from __future__ import annotations

from datetime import date

from catalog.domain import vat


class TestVat:
    def test_standard_rate_is_22_from_2026(self) -> None:
        assert vat.standard_rate(date(2025, 12, 31)) == "20"
        assert vat.standard_rate(date(2026, 1, 1)) == "22"

    def test_exempt_cites_article_149(self) -> None:
        assert "ст. 149" in vat.basis("exempt", date(2026, 3, 1))
        assert "пп. 26" in vat.basis("exempt", date(2026, 3, 1)) or "подп. 26" in vat.basis(
            "exempt", date(2026, 3, 1)
        )

    def test_a_rate_out_of_force_is_a_problem(self) -> None:
        assert vat.problem("22", date(2026, 1, 1)) is None
        assert vat.problem("20", date(2025, 6, 1)) is None
        problem = vat.problem("20", date(2026, 1, 1))
        assert problem is not None
        assert "22" in problem
        assert vat.problem("18", date(2026, 1, 1)) is not None

    def test_standard_resolves_on_the_day(self) -> None:
        assert vat.resolve("standard", date(2026, 2, 1)) == "22"
        assert vat.resolve("Стандартная", date(2025, 2, 1)) == "20"
        assert vat.resolve("exempt", date(2026, 2, 1)) == "exempt"
