"""Reading messy price lists: BOM, ';', decimal commas, Russian headers, JSON."""

from __future__ import annotations

import base64
from decimal import Decimal

import pytest
from catalog.domain.price_list import (
    canonical_column,
    decode,
    parse_csv,
    parse_json,
    parse_price,
    parse_status,
    parse_vat,
)


class TestParseCsv:
    def test_reads_an_excel_export_with_bom_semicolons_and_russian_headers(self) -> None:
        content = (
            "\ufeffАртикул;Наименование;Цена, руб.;Производитель\r\n"
            'KL-1;"Kaspersky Standard; 1 устройство";1 490,00;Kaspersky\r\n'
            "\r\n"
            "KL-2;Kaspersky Plus;2\u00a0190,50 ₽;Kaspersky\r\n"
        )
        parsed = parse_csv(content)
        assert parsed.columns == ("sku", "name", "price", "vendor")
        assert [r.line for r in parsed.rows] == [2, 4]
        assert parsed.rows[0].cells["name"] == "Kaspersky Standard; 1 устройство"
        assert parsed.rows[1].cells["price"] == "2\u00a0190,50 ₽"
        assert parsed.errors == []

    def test_reads_commas_and_tabs(self) -> None:
        assert parse_csv("sku,price\nA,1\n").rows[0].cells == {"sku": "A", "price": "1"}
        assert parse_csv("sku\tprice\nA\t1\n").rows[0].cells == {"sku": "A", "price": "1"}

    def test_a_row_with_too_many_cells_is_an_error_of_that_line_only(self) -> None:
        parsed = parse_csv("sku;price\nA;1;oops\nB;2\n")
        assert parsed.errors == [(2, "row has 3 cells but the header has 2")]
        assert [r.cells["sku"] for r in parsed.rows] == ["B"]

    def test_short_rows_leave_the_missing_cells_out(self) -> None:
        parsed = parse_csv("sku;name;price\nA;Name\n")
        assert parsed.rows[0].cells == {"sku": "A", "name": "Name"}

    def test_multiline_quoted_cells_keep_line_numbers(self) -> None:
        parsed = parse_csv('sku;name\nA;"two\nlines"\nB;x\n')
        assert [(r.line, r.cells["sku"]) for r in parsed.rows] == [(2, "A"), (4, "B")]

    def test_unknown_columns_are_ignored(self) -> None:
        assert parse_csv("sku;остаток\nA;5\n").rows[0].cells == {"sku": "A"}

    def test_empty_file(self) -> None:
        assert parse_csv("").errors == [(1, "the file is empty")]


class TestParseJson:
    def test_reads_a_list_or_an_object_with_products(self) -> None:
        listed = parse_json('[{"sku": "A", "price": 1490.5}]')
        wrapped = parse_json('{"products": [{"Артикул": "A", "Цена": "1490,50"}]}')
        assert listed.rows[0].cells == {"sku": "A", "price": Decimal("1490.5")}
        assert wrapped.rows[0].cells == {"sku": "A", "price": "1490,50"}

    def test_invalid_json_and_non_objects_are_reported(self) -> None:
        assert parse_json("[1,").errors[0][1].startswith("invalid JSON")
        parsed = parse_json('[{"sku": "A"}, 5]')
        assert parsed.errors == [(2, "item is not an object")]
        assert len(parsed.rows) == 1


class TestCells:
    @pytest.mark.parametrize(
        ("raw", "expected"),
        [
            ("1490", "1490.00"),
            ("1 490,00", "1490.00"),
            ("1.490,50", "1490.50"),
            ("1,490.50", "1490.50"),
            ("1,490", "1490.00"),
            ("12,5", "12.50"),
            ("1490,00", "1490.00"),
            ("1.490.000", "1490000.00"),
            ("14.90", "14.90"),
            ("2\u00a0190 руб.", "2190.00"),
            ("990 ₽", "990.00"),
            (1490, "1490.00"),
            (Decimal("12.5"), "12.50"),
        ],
    )
    def test_prices(self, raw: object, expected: str) -> None:
        assert parse_price(raw) == Decimal(expected)

    @pytest.mark.parametrize(
        "raw", ["", "abc", "1,2,3", "1.005", "1.490", True, "12 руб 50 коп", "1e3"]
    )
    def test_bad_prices(self, raw: object) -> None:
        with pytest.raises(ValueError, match="price"):
            parse_price(raw)

    @pytest.mark.parametrize(
        ("raw", "expected"),
        [("Без НДС", "exempt"), ("exempt", "exempt"), ("22%", "22"), (22, "22"), ("НДС 22", "22")],
    )
    def test_vat(self, raw: object, expected: str) -> None:
        assert parse_vat(raw) == expected

    def test_status(self) -> None:
        assert parse_status("Снят с продажи") is False
        assert parse_status("в продаже") is True

    def test_headers(self) -> None:
        assert canonical_column(" ЦЕНА (руб.) ") == "price"
        assert canonical_column("Part Number") == "sku"
        assert canonical_column("остаток") is None

    def test_decodes_windows_1251_and_utf8_with_bom(self) -> None:
        text = "Артикул;Цена\nA;1\n"
        assert decode(base64.b64encode(text.encode("cp1251")).decode()) == text
        assert decode(base64.b64encode(b"\xef\xbb\xbf" + text.encode()).decode()) == text
        with pytest.raises(ValueError, match="base64"):
            decode("not base64!")
