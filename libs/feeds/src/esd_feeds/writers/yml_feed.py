"""The catalog as YML (Yandex Market Language), as Yandex Market and most Russian shop engines
read it: ``yml_catalog/shop`` with ``currencies``, ``categories`` and ``offers``.

Rules kept (and tested): category ids are positive integers of at most 18 digits, stable across
feeds (derived from our category ids); every ``parentId`` and ``categoryId`` names a listed
category; offer ids are our skus (letters, digits, '.', '_', '-', at most 80 characters);
prices are numbers with a '.', the currency is ``RUR`` (Yandex's code for the rouble); offer
children come in the DTD's order (url, price, currencyId, categoryId, name, vendor, vendorCode,
downloadable, param).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from datetime import datetime

from esd_feeds.offers import FeedCategory, Offer, OfferSource, Shop, offers_of, ordered_tree
from esd_feeds.writers._text import attr, chunked, element, money, x

FALLBACK = FeedCategory("other", "Прочее")
"""Where an offer whose category the tree does not know is listed."""

KIND_TITLES = {"key": "Ключ активации", "subscription": "Подписка"}


def yml_category_ids(categories: Iterable[FeedCategory]) -> dict[str, int]:
    """Stable numeric ids (YML wants integers): a hash of our id, probing on collision."""
    ids: dict[str, int] = {}
    taken: set[int] = set()
    for category in sorted(categories, key=lambda c: c.id):
        digest = hashlib.sha256(category.id.encode()).hexdigest()
        number = int(digest[:15], 16) % 10**9 + 1
        while number in taken:
            number += 1
        taken.add(number)
        ids[category.id] = number
    return ids


def _offer(offer: Offer, category_number: int) -> str:
    parts = [f"<offer id={attr(offer.sku)} available={attr('true' if offer.active else 'false')}>"]
    if offer.download_url:
        parts.append(element("url", offer.download_url))
    parts.append(element("price", money(offer.price)))
    parts.append("<currencyId>RUR</currencyId>")
    parts.append(f"<categoryId>{category_number}</categoryId>")
    parts.append(element("name", offer.name))
    parts.append(element("vendor", offer.vendor))
    parts.append(element("vendorCode", offer.sku))
    parts.append("<downloadable>true</downloadable>")
    if offer.version:
        parts.append(f"<param name={attr('Версия')}>{x(offer.version)}</param>")
    parts.append(f"<param name={attr('Тип')}>{x(KIND_TITLES.get(offer.kind, offer.kind))}</param>")
    vat = "Без НДС" if offer.vat_rate == "exempt" else f"{offer.vat_rate}%"
    parts.append(f"<param name={attr('НДС')}>{x(vat)}</param>")
    for spec in offer.required_fields:
        parts.append(f"<param name={attr('Обязательное поле заказа')}>{x(spec.title)}</param>")
    parts.append("</offer>")
    return "".join(parts)


def write_yml(
    offers: OfferSource,
    categories: Iterable[FeedCategory],
    *,
    generated_at: datetime,
    shop: Shop | None = None,
) -> Iterator[str]:
    shop = shop or Shop()
    tree = ordered_tree(categories)
    if FALLBACK.id not in {c.id for c in tree}:
        tree.append(FALLBACK)
    numbers = yml_category_ids(tree)
    known = {c.id for c in tree}

    def pieces() -> Iterator[str]:
        yield '<?xml version="1.0" encoding="UTF-8"?>\n'
        yield f"<yml_catalog date={attr(generated_at.isoformat(timespec='minutes'))}><shop>"
        yield element("name", shop.name[:20])
        yield element("company", shop.company)
        yield element("url", shop.url)
        yield '<currencies><currency id="RUR" rate="1"/></currencies><categories>'
        for category in tree:
            parent = ""
            if category.parent_id in known:
                parent = f" parentId={attr(numbers[category.parent_id])}"
            yield f"<category id={attr(numbers[category.id])}{parent}>{x(category.name)}</category>"
        yield "</categories><offers>"
        for offer in offers_of(offers):
            category_id = offer.category_id if offer.category_id in known else FALLBACK.id
            yield _offer(offer, numbers[category_id])
        yield "</offers></shop></yml_catalog>\n"

    return chunked(pieces())
