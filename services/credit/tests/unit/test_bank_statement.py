"""The 1CClientBankExchange parser on a realistic statement, in both encodings, with garbage."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from credit.domain.bank_statement import decode, parse

SAMPLE = (Path(__file__).parents[1] / "fixtures" / "statement_1_03.txt").read_text("utf-8")


@pytest.fixture(params=["cp1251", "utf-8", "utf-8-sig"])
def encoded(request: pytest.FixtureRequest) -> bytes:
    return SAMPLE.replace("\n", "\r\n").encode(request.param)


class TestParse:
    def test_reads_incoming_payments_in_either_encoding(self, encoded: bytes) -> None:
        statement = parse(encoded)
        assert statement.version == "1.03"
        assert [p.number for p in statement.payments] == ["512", "88"]
        first, second = statement.payments
        assert (first.payer_inn, first.payer_kpp, first.amount) == (
            "7707083893",
            "773601001",
            Decimal("45000.00"),
        )
        assert first.date == date(2026, 11, 2)  # ДатаПоступило, not the day it was sent
        assert first.purpose.startswith("Оплата по УПД №ESD-2026-000123")
        assert first.payer_name == 'ООО "РОМАШКА"'
        assert (second.payer_inn, second.amount) == ("500100732259", Decimal("16500.00"))
        assert second.purpose == "опл. док. 7, 8"  # not doubled by НазначениеПлатежа1

    def test_reports_garbage_and_bad_documents_and_skips_outgoing(self, encoded: bytes) -> None:
        statement = parse(encoded)
        codes = {(p.code, p.number) for p in statement.problems}
        assert ("unreadable_line", None) in codes
        assert ("invalid_amount", "513") in codes
        assert statement.outgoing == 1
        garbage = next(p for p in statement.problems if p.code == "unreadable_line")
        assert garbage.line is not None
        assert SAMPLE.splitlines()[garbage.line - 1] == "это строка мусора от банка-клиента"

    def test_encoding_detection(self) -> None:
        assert decode(SAMPLE.encode("cp1251"))[1] == "cp1251"
        assert decode(SAMPLE.encode("utf-8"))[1] == "utf-8"
        dos = SAMPLE.replace("Кодировка=Windows", "Кодировка=DOS").encode("cp866")
        text, encoding = decode(dos)
        assert encoding == "cp866"
        assert "Платежное поручение" in text

    def test_version_1_02_without_account_sections(self) -> None:
        content = "\n".join(
            [
                "1CClientBankExchange",
                "ВерсияФормата=1.02",
                "Кодировка=Windows",
                "СекцияДокумент=Платежное поручение",
                "Номер=1",
                "Дата=05.11.2026",
                "Сумма=100",
                "Плательщик=ИНН 7707083893 ООО Ромашка",
                "НазначениеПлатежа=Оплата по счету 5",
                "КонецДокумента",
                "КонецФайла",
            ]
        ).encode("cp1251")
        statement = parse(content)
        assert statement.problems == []
        (payment,) = statement.payments
        assert (payment.payer_inn, payment.amount, payment.date) == (
            "7707083893",
            Decimal("100.00"),
            date(2026, 11, 5),
        )

    def test_a_file_that_is_not_a_statement(self) -> None:
        statement = parse(b"<html>oops</html>")
        assert statement.payments == []
        assert statement.problems[0].code == "not_a_statement"

    def test_unterminated_document_is_reported_and_the_next_one_read(self) -> None:
        content = "\n".join(
            [
                "1CClientBankExchange",
                "СекцияДокумент=Платежное поручение",
                "Номер=1",
                "СекцияДокумент=Платежное поручение",
                "Номер=2",
                "Дата=05.11.2026",
                "Сумма=10.00",
                "ПлательщикИНН=7707083893",
                "КонецДокумента",
                "СекцияДокумент=Платежное поручение",
                "Номер=3",
            ]
        ).encode()
        statement = parse(content)
        assert [p.number for p in statement.payments] == ["2"]
        assert [(p.code, p.number) for p in statement.problems] == [
            ("unterminated_document", "1"),
            ("unterminated_document", "3"),
        ]

    def test_wrapped_purpose_lines_are_joined(self) -> None:
        content = "\n".join(
            [
                "1CClientBankExchange",
                "СекцияДокумент=Платежное поручение",
                "Номер=9",
                "Дата=05.11.2026",
                "Сумма=10.00",
                "ПлательщикИНН=7707083893",
                "НазначениеПлатежа=Оплата по УПД ESD-2026-000001",
                "и ESD-2026-000002",
                "КонецДокумента",
            ]
        ).encode()
        (payment,) = parse(content).payments
        assert payment.purpose == "Оплата по УПД ESD-2026-000001 и ESD-2026-000002"
