"""Small helpers shared by the writers: XML escaping and chunking."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

CHUNK = 64 * 1024
"""Characters per yielded chunk: big enough to be cheap per send, small enough to stream."""

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_TEXT_NEEDS_WORK = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
_ATTR_NEEDS_WORK = re.compile('[&<>"\t\n\r\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]')


def x(text: object) -> str:
    """Element text, escaped; characters XML 1.0 forbids are dropped. Most names, prices and
    skus need neither, so one search decides (a feed escapes tens of values per product)."""
    value = text if type(text) is str else str(text)
    if _TEXT_NEEDS_WORK.search(value) is None:
        return value
    return escape(_INVALID_XML.sub("", value))


def attr(text: object) -> str:
    """An attribute value with its quotes."""
    value = text if type(text) is str else str(text)
    if _ATTR_NEEDS_WORK.search(value) is None:
        return f'"{value}"'
    return quoteattr(_INVALID_XML.sub("", value))


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


def element(tag: str, text: object) -> str:
    return f"<{tag}>{x(text)}</{tag}>"


def chunked(pieces: Iterable[str], size: int = CHUNK) -> Iterator[str]:
    """Join small pieces into chunks of about ``size`` characters."""
    buffer: list[str] = []
    length = 0
    for piece in pieces:
        buffer.append(piece)
        length += len(piece)
        if length >= size:
            yield "".join(buffer)
            buffer, length = [], 0
    if buffer:
        yield "".join(buffer)
