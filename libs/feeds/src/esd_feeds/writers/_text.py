"""Small helpers shared by the writers: XML escaping and chunking."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from xml.sax.saxutils import escape, quoteattr

CHUNK = 64 * 1024
"""Characters per yielded chunk: big enough to be cheap per send, small enough to stream."""

_INVALID_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def x(text: object) -> str:
    """Element text, escaped; characters XML 1.0 forbids are dropped."""
    return escape(_INVALID_XML.sub("", str(text)))


def attr(text: object) -> str:
    """An attribute value with its quotes."""
    return quoteattr(_INVALID_XML.sub("", str(text)))


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
