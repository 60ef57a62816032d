"""Search in Russian and English, stable cursors, ETags."""

from __future__ import annotations

import pytest
from esd_feeds.etag import etag_matches, feed_etag
from esd_feeds.search import (
    decode_cursor,
    encode_cursor,
    like_pattern,
    matches,
    normalize,
    query_terms,
)


class TestSearch:
    def test_case_insensitive_in_russian_and_english(self) -> None:
        name = "1С:Бухгалтерия 8 ПРОФ. Электронная поставка"
        assert matches("бухгалтерия проф", "1C-BUH-PROF", name, "1С")
        assert matches("1c-buh", "1C-BUH-PROF", name, "1С")
        assert matches("KASPERSKY internet", "KL-KIS", "Kaspersky Internet Security", "Kaspersky")
        assert not matches("kaspersky eset", "KL-KIS", "Kaspersky Internet Security", "Kaspersky")

    def test_yo_is_e(self) -> None:
        assert matches("пётр", "X", "Пётр Первый. Аудиокнига", "ЛитРес")
        assert matches("петр", "X", "Пётр Первый. Аудиокнига", "ЛитРес")
        assert normalize("  ЁЛКА  Зелёная ") == "елка зеленая"

    def test_a_category_name_finds_its_products(self) -> None:
        path = ("Безопасность", "Антивирусы")
        kis = ("KL-KIS", "Kaspersky Internet Security", "Kaspersky")
        assert matches("антивирус", *kis, path)
        assert matches("безопасность kaspersky", *kis, path)
        assert not matches("антивирус", *kis)  # without its categories

    def test_empty_query_matches_everything(self) -> None:
        assert matches("   ", "A", "B", "C")

    def test_like_pattern_escapes_wildcards(self) -> None:
        assert like_pattern("100%_x\\") == "%100\\%\\_x\\\\%"


class TestBrandSpellings:
    """A partner types a brand in either alphabet: the catalog spells Kaspersky in Latin and
    1С with a Cyrillic С."""

    def test_a_russian_spelling_finds_a_latin_brand(self) -> None:
        kis = ("KL-KIS", "Kaspersky Internet Security", "Kaspersky")
        assert matches("касперский", *kis)
        assert matches("Касперского internet", *kis)  # with a case ending
        assert matches("касп", *kis)  # the start of it, as a partner types
        assert matches("майкрософт", "MS-O365", "Microsoft 365", "Microsoft")

    def test_a_latin_spelling_finds_a_cyrillic_brand(self) -> None:
        assert matches("1c бухгалтерия", "BUH-BASE", "1С:Бухгалтерия 8", "1С")  # Latin c
        assert matches("kaspersky", "X", "Антивирус Касперского", "Лаборатория Касперского")
        assert matches("drweb", "DRW-SS", "Security Space", "Доктор Веб")

    def test_every_word_is_still_required(self) -> None:
        kis = ("KL-KIS", "Kaspersky Internet Security", "Kaspersky")
        assert not matches("касперский total", *kis)
        assert not matches("есет", *kis)

    def test_only_a_word_that_names_the_brand_is_widened(self) -> None:
        assert query_terms("1c-buh") == [("1c-buh",)]  # an sku: taken as typed
        assert query_terms("касперскийхх") == [("касперскийхх",)]  # more than a case ending
        assert query_terms("kas") == [("kas",)]  # too short to finish typing
        assert query_terms("office ёлка") == [("office",), ("елка",)]


class TestCursor:
    def test_round_trip(self) -> None:
        assert decode_cursor(encode_cursor("KL-KIS-1D-1Y-N")) == "KL-KIS-1D-1Y-N"
        assert decode_cursor(encode_cursor("Артикул")) == "Артикул"

    @pytest.mark.parametrize("bad", ["", "!!!", "eyJ4IjogMX0", "bnVsbA"])
    def test_foreign_cursors_are_refused(self, bad: str) -> None:
        with pytest.raises(ValueError, match="cursor"):
            decode_cursor(bad)


class TestEtag:
    def test_same_inputs_same_tag(self) -> None:
        assert feed_etag("yml", None, 3370, (1, 2)) == feed_etag("yml", None, 3370, (1, 2))
        assert feed_etag("yml", None, 3370, (1, 2)) != feed_etag("yml", None, 3371, (1, 2))

    def test_if_none_match(self) -> None:
        tag = feed_etag("csv")
        assert etag_matches(tag, tag)
        assert etag_matches(f'"other", W/{tag}', tag)
        assert etag_matches("*", tag)
        assert not etag_matches(None, tag)
        assert not etag_matches('"other"', tag)
