"""The catalog as CSV for Excel: UTF-8 with a BOM, ';' between cells, a header row.

Columns are the product's fields; ``required_fields`` is a JSON list in one cell.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator

from esd_feeds.offers import OfferSource, offers_of
from esd_feeds.writers._text import chunked

COLUMNS = (
    "sku",
    "name",
    "vendor",
    "version",
    "category",
    "kind",
    "price",
    "currency",
    "vat_rate",
    "required_fields",
    "download_url",
    "active",
)


def write_csv(offers: OfferSource, *, delimiter: str = ";", bom: bool = True) -> Iterator[str]:
    def pieces() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
        if bom:
            yield "\ufeff"
        writer.writerow(COLUMNS)
        for offer in offers_of(offers):
            row = offer.as_resource()
            row["required_fields"] = (
                json.dumps(row["required_fields"], ensure_ascii=False)
                if offer.required_fields
                else ""
            )
            row["active"] = "true" if offer.active else "false"
            writer.writerow([row[c] for c in COLUMNS])
            if buffer.tell() > 8192:
                yield buffer.getvalue()
                buffer.seek(0)
                buffer.truncate()
        yield buffer.getvalue()

    return chunked(pieces())
