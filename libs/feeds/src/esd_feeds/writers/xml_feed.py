"""The catalog as the API's XML: the JSON fields as elements, list items repeated.

``<catalog generated_at=… only_changes=…><items><product><sku>…</sku>…<required_fields>
<required_field><name>…</name>…</required_field></required_fields>…</product>…</items></catalog>``
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from esd_feeds.offers import Offer, OfferSource, offers_of
from esd_feeds.writers._text import attr, chunked, element


def product_xml(offer: Offer) -> str:
    parts = ["<product>"]
    for key, value in offer.as_resource().items():
        if key == "required_fields":
            parts.append("<required_fields>")
            for spec in offer.required_fields:
                parts.append(
                    "<required_field>"
                    + element("name", spec.name)
                    + element("title", spec.title)
                    + element("pattern", spec.pattern)
                    + "</required_field>"
                )
            parts.append("</required_fields>")
        elif isinstance(value, bool):
            parts.append(element(key, "true" if value else "false"))
        else:
            parts.append(element(key, value))
    parts.append("</product>")
    return "".join(parts)


def write_xml(
    offers: OfferSource, *, generated_at: datetime, only_changes: bool = False
) -> Iterator[str]:
    def pieces() -> Iterator[str]:
        yield '<?xml version="1.0" encoding="UTF-8"?>\n'
        yield (
            f"<catalog generated_at={attr(generated_at.isoformat())} "
            f"only_changes={attr('true' if only_changes else 'false')}><items>"
        )
        for offer in offers_of(offers):
            yield product_xml(offer)
        yield "</items></catalog>\n"

    return chunked(pieces())
