"""Streaming feed writers: each returns an iterator of text chunks (about 64 KiB each).

``write_feed(format, offers, categories, generated_at=…, only_changes=…)`` picks the writer for
one of :data:`FORMATS`; the gateway encodes the chunks as UTF-8 and streams them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime

from esd_feeds.offers import FeedCategory, OfferSource, Shop
from esd_feeds.writers.commerceml_feed import write_commerceml
from esd_feeds.writers.csv_feed import write_csv
from esd_feeds.writers.json_feed import write_json
from esd_feeds.writers.xml_feed import write_xml
from esd_feeds.writers.yml_feed import write_yml

FORMATS = ("json", "xml", "csv", "commerceml", "yml")
MEDIA_TYPES = {
    "json": "application/json",
    "xml": "application/xml",
    "csv": "text/csv; charset=utf-8",
    "commerceml": "application/xml",
    "yml": "application/xml",
}


def write_feed(
    format: str,
    offers: OfferSource,
    categories: Iterable[FeedCategory] = (),
    *,
    generated_at: datetime,
    only_changes: bool = False,
    shop: Shop | None = None,
) -> Iterator[str]:
    """The feed in ``format``; ValueError for a format not in :data:`FORMATS`."""
    if format == "json":
        return write_json(offers, generated_at=generated_at, only_changes=only_changes)
    if format == "xml":
        return write_xml(offers, generated_at=generated_at, only_changes=only_changes)
    if format == "csv":
        return write_csv(offers)
    if format == "commerceml":
        return write_commerceml(
            offers, categories, generated_at=generated_at, only_changes=only_changes, shop=shop
        )
    if format == "yml":
        return write_yml(offers, categories, generated_at=generated_at, shop=shop)
    raise ValueError(f"unknown feed format {format!r}; one of {', '.join(FORMATS)}")


__all__ = [
    "FORMATS",
    "MEDIA_TYPES",
    "write_commerceml",
    "write_csv",
    "write_feed",
    "write_json",
    "write_xml",
    "write_yml",
]
