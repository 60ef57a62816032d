"""ETags for feeds and catalog answers: the same inputs give the same tag.

A feed's bytes depend on the format, ``since``, the catalog's state (e.g. the highest product
revision sum or the latest change time) and the partner's price rules (their revisions), so
the tag is a hash of exactly those. Write the feed with ``generated_at`` = the catalog's latest
change, not "now", so that the same tag always stands for the same bytes.
"""

from __future__ import annotations

import hashlib


def feed_etag(*parts: object) -> str:
    """A strong ETag (quoted) from the things the body depends on."""
    digest = hashlib.sha256("\x1f".join(repr(p) for p in parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (a list, weak tags or ``*``)."""
    if not if_none_match:
        return False
    candidates = [tag.strip() for tag in if_none_match.split(",")]
    return any(tag == "*" or tag.removeprefix("W/") == etag for tag in candidates)
