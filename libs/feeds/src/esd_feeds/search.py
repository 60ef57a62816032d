"""Catalog search and paging the same way everywhere: case-insensitive in Russian and English,
'ё' as 'е', every word of the query must appear in the sku, name or vendor; keyset cursors by
sku, so paging stays stable while products are added or changed.

Why in Python: PostgreSQL's ``lower()``/``ILIKE`` fold only ASCII under a ``C`` locale, so
Cyrillic search in SQL depends on how the database was created. Store :func:`search_text` in
a column when a product is written and match its words with ``LIKE '%word%'`` (or here).
"""

from __future__ import annotations

import base64
import binascii
import json
import re

_SPACES = re.compile(r"\s+")


def normalize(text: str) -> str:
    """'  Касперский   ЁЛКА ' → 'касперский елка'."""
    return _SPACES.sub(" ", text.casefold().replace("ё", "е")).strip()


def search_text(sku: str, name: str, vendor: str) -> str:
    """What a query is matched against."""
    return normalize(f"{sku} {name} {vendor}")


def query_words(query: str) -> list[str]:
    return normalize(query).split()


def matches(query: str, sku: str, name: str, vendor: str) -> bool:
    """Every word of ``query`` occurs in the product's sku, name or vendor."""
    haystack = search_text(sku, name, vendor)
    return all(word in haystack for word in query_words(query))


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
