"""The catalog as JSON: ``{"generated_at", "currency", "only_changes", "items": [product…]}``."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime

from esd_feeds.offers import OfferSource, offers_of
from esd_feeds.writers._text import chunked

_ENCODE = json.JSONEncoder(ensure_ascii=False).encode
"""One encoder for every item: ``json.dumps`` with options builds a new one per call."""


def write_json(
    offers: OfferSource, *, generated_at: datetime, only_changes: bool = False
) -> Iterator[str]:
    def pieces() -> Iterator[str]:
        yield (
            f'{{"generated_at": {json.dumps(generated_at.isoformat())}, "currency": "RUB", '
            f'"only_changes": {json.dumps(only_changes)}, "items": ['
        )
        for index, offer in enumerate(offers_of(offers)):
            yield ("," if index else "") + _ENCODE(offer.as_resource())
        yield "]}\n"

    return chunked(pieces())
