"""Catalog search and paging the same way everywhere: case-insensitive in Russian and English,
'ё' as 'е', every word of the query must appear in the sku, name, vendor or the names of the
product's categories ('антивирус' finds the antivirus products); a brand may be
typed in either alphabet (:data:`BRAND_SPELLINGS`: 'касперского' finds Kaspersky, '1c' with a
Latin c finds 1С); keyset cursors by sku, so paging stays stable while products are added or
changed.

Why in Python: PostgreSQL's ``lower()``/``ILIKE`` fold only ASCII under a ``C`` locale, so
Cyrillic search in SQL depends on how the database was created. Store :func:`search_text` in
a column when a product is written and match its words with ``LIKE '%word%'`` (or here).
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Sequence

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """'  Касперский   ЁЛКА ' → 'касперский елка'."""
    return _SPACES.sub(" ", text.casefold().replace("ё", "е")).strip()


def search_text(sku: str, name: str, vendor: str, categories: Sequence[str] = ()) -> str:
    """What a query is matched against; ``categories``: the names on the product's category
    path, root first."""
    return normalize(" ".join((sku, name, vendor, *categories)))


def query_words(query: str) -> list[str]:
    return normalize(query).split()


BRAND_SPELLINGS: tuple[tuple[str, ...], ...] = (
    ("kaspersky", "касперск"),
    ("microsoft", "майкрософт", "микрософт"),
    ("eset", "есет", "эсет"),
    ("dr.web", "drweb", "доктор веб"),
    ("1с", "1c"),  # Cyrillic С, Latin c
    ("abbyy", "абби"),
    ("acronis", "акронис"),
    ("adobe", "адоби", "адобе"),
    ("autodesk", "автодеск"),
    ("avast", "аваст"),
    ("avira", "авира"),
    ("bitdefender", "битдефендер"),
    ("mcafee", "макафи"),
    ("norton", "нортон"),
    ("movavi", "мовави"),
    ("corel", "корел"),
    ("parallels", "параллелс"),
    ("teamviewer", "тимвьюер", "тимвьювер"),
    ("anydesk", "энидеск"),
    ("promt", "промт"),
    ("hetman", "хетман"),
    ("paragon", "парагон"),
    ("graphisoft", "графисофт"),
    ("ashampoo", "ашампу"),
    ("яндекс", "yandex"),
    ("контур", "kontur"),
    ("криптопро", "cryptopro", "crypto-pro"),
    ("мойофис", "myoffice"),
    ("литрес", "litres"),
    ("аскон", "ascon"),
)
"""Brands a partner may type in the other alphabet than the catalog spells them, each with its
spellings (normalised; a Russian one as the stem its case endings follow)."""

_ENDING = 3
"""Letters a query word may add to a brand's spelling and still name it ('касперск' + 'ого')."""

_TYPED = 4
"""Letters of a brand a query word must have for the search to finish typing it ('касп')."""


def query_terms(query: str) -> list[tuple[str, ...]]:
    """Each word of ``query`` with what else it may be spelt as: a word that names a brand of
    :data:`BRAND_SPELLINGS` (its spelling, plus at most a case ending, or the start of it) may
    match any of the brand's spellings instead. A product matches when, for every word, it
    holds one of that word's terms."""
    terms = []
    for word in query_words(query):
        alternatives = [word]
        for spellings in BRAND_SPELLINGS:
            if any(_names(word, spelling) for spelling in spellings):
                alternatives += [s for s in spellings if s not in alternatives]
        terms.append(tuple(alternatives))
    return terms


def _names(word: str, spelling: str) -> bool:
    if word.startswith(spelling):
        ending = word[len(spelling) :]
        return len(ending) <= _ENDING and (not ending or ending.isalpha())
    return len(word) >= _TYPED and spelling.startswith(word)


def matches(query: str, sku: str, name: str, vendor: str, categories: Sequence[str] = ()) -> bool:
    """Every word of ``query`` (or another spelling of it) occurs in the product's sku, name,
    vendor or categories."""
    haystack = search_text(sku, name, vendor, categories)
    return all(any(term in haystack for term in terms) for terms in query_terms(query))


def like_pattern(word: str) -> str:
    """A query word as a LIKE pattern with '%', '_' and '\\' escaped (ESCAPE '\\')."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def encode_cursor(last_sku: str) -> str:
    """An opaque cursor: the next page starts after ``last_sku`` (ORDER BY sku)."""
    raw = json.dumps({"after": last_sku}, ensure_ascii=False).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The sku a cursor continues after; ValueError for anything we did not issue."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as exc:
        raise ValueError("invalid cursor") from exc
    after = data.get("after") if isinstance(data, dict) else None
    if not isinstance(after, str):
        raise ValueError("invalid cursor")
    return after
