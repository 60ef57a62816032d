"""Reading document numbers out of a payment's purpose, and applying its money."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from credit.domain.payments import (
    Allocation,
    DocumentRef,
    OpenDocument,
    allocate,
    document_refs,
    payment_id,
)

D = Decimal


class TestDocumentRefs:
    @pytest.mark.parametrize(
        ("purpose", "expected"),
        [
            (
                "Оплата по УПД №ESD-000123 от 01.11.2026 и ESD-000124",
                [DocumentRef(123), DocumentRef(124)],
            ),
            ("опл. док. 123, 124", [DocumentRef(123), DocumentRef(124)]),
            (
                "Оплата по УПД ESD-2026-000077; ESD-2026-000078",
                [DocumentRef(77, 2026), DocumentRef(78, 2026)],
            ),
            (
                "Оплата по счетам № 17, 18 от 02.11.2026 сумма 1500-00 в т.ч. НДС 20% 250-00",
                [DocumentRef(17), DocumentRef(18)],
            ),
            (
                "Оплата по УПД 123 от 01.11.2026 и 124 от 02.11.2026. Без НДС",
                [DocumentRef(123), DocumentRef(124)],
            ),
            ("опл. с/ф 12,13 1 500,00 руб", [DocumentRef(12), DocumentRef(13)]),
            ("ИНН 7707083893 оплата УПД N 55", [DocumentRef(55)]),
            ("Оплата по накладной №5 и акту №6", [DocumentRef(5), DocumentRef(6)]),
            ("ESD-000123, ESD-000123 повторно", [DocumentRef(123)]),
        ],
    )
    def test_reads_references_as_bookkeepers_write_them(
        self, purpose: str, expected: list[DocumentRef]
    ) -> None:
        assert document_refs(purpose) == expected

    @pytest.mark.parametrize(
        "purpose",
        [
            "Оплата за программное обеспечение по договору 15 от 01.01.2026",
            "Оплата 12,13",
            "Аванс. Сумма 15000-00, НДС не облагается",
            "",
        ],
    )
    def test_numbers_that_are_not_documents_are_ignored(self, purpose: str) -> None:
        assert document_refs(purpose) == []

    def test_a_reference_matches_the_documents_sequence_and_year(self) -> None:
        assert DocumentRef(123).matches("ESD-2026-000123")
        assert DocumentRef(123, 2026).matches("ESD-2026-000123")
        assert not DocumentRef(123, 2025).matches("ESD-2026-000123")
        assert not DocumentRef(12).matches("ESD-2026-000123")


def doc(number: str, day: int, amount: str) -> OpenDocument:
    return OpenDocument(number, date(2026, 10, day), D(amount))


class TestAllocate:
    def test_named_documents_first_then_the_oldest(self) -> None:
        documents = [
            doc("ESD-2026-000001", 1, "100.00"),
            doc("ESD-2026-000002", 2, "200.00"),
            doc("ESD-2026-000003", 3, "300.00"),
        ]
        plan = allocate(D("450.00"), [DocumentRef(3)], documents)
        assert plan.allocations == (
            Allocation("ESD-2026-000003", D("300.00")),
            Allocation("ESD-2026-000001", D("100.00")),
            Allocation("ESD-2026-000002", D("50.00")),
        )
        assert plan.unallocated == D("0.00")

    def test_overpayment_leaves_unallocated_credit(self) -> None:
        plan = allocate(D("500.00"), [], [doc("ESD-2026-000001", 1, "120.00")])
        assert plan.allocated == D("120.00")
        assert plan.unallocated == D("380.00")

    def test_partial_payment_pays_part_of_the_named_document(self) -> None:
        documents = [doc("ESD-2026-000001", 1, "100.00"), doc("ESD-2026-000002", 2, "200.00")]
        plan = allocate(D("150.00"), [DocumentRef(2)], documents)
        assert plan.allocations == (Allocation("ESD-2026-000002", D("150.00")),)

    def test_unknown_named_document_falls_back_to_the_oldest(self) -> None:
        plan = allocate(D("50.00"), [DocumentRef(999)], [doc("ESD-2026-000001", 1, "100.00")])
        assert plan.allocations == (Allocation("ESD-2026-000001", D("50.00")),)

    def test_no_documents_all_unallocated(self) -> None:
        plan = allocate(D("10.00"), [DocumentRef(1)], [])
        assert (plan.allocations, plan.unallocated) == ((), D("10.00"))


class TestPaymentIdentity:
    def test_same_payer_number_and_date_is_the_same_payment(self) -> None:
        first = payment_id("7707083893", "512", date(2026, 11, 2))
        assert first == payment_id(" 7707083893", "512 ", date(2026, 11, 2))
        assert first != payment_id("7707083893", "512", date(2026, 11, 3))
        assert first != payment_id("7707083893", "513", date(2026, 11, 2))
