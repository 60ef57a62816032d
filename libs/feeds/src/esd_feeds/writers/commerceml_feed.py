"""The catalog as CommerceML 2 (``КоммерческаяИнформация``, schema 2.10), the exchange format of
1C and 1C-Bitrix shops: ``Классификатор`` with the nested ``Группы``, ``Каталог`` with
``Товары`` and ``ПакетПредложений`` with ``ТипыЦен`` and ``Предложения`` at the partner's price.

Rules kept (and tested): every ``Товар`` names groups that the ``Классификатор`` lists; every
``Предложение`` has the ``Ид`` of a ``Товар``; every price names a declared ``ТипЦены``; the
``Каталог`` and ``ПакетПредложений`` point at the ``Классификатор`` by ``Ид``;
``СодержитТолькоИзменения`` says whether this is a delta (``since``).

Goods and offers list every product twice, so ``offers`` must be a list or a function that
yields the offers afresh (a second streaming query), never a one-shot iterator.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import datetime
from functools import lru_cache

from esd_feeds.offers import FeedCategory, Offer, OfferSource, Shop, offers_of, ordered_tree
from esd_feeds.writers._text import attr, chunked, element, money, x

NAMESPACE = "urn:1C.ru:commerceml_2"
SCHEMA_VERSION = "2.10"
CLASSIFIER_ID = "esd-classifier"
CATALOG_ID = "esd-catalog"
OFFERS_ID = "esd-offers"
PRICE_TYPE_ID = "esd-partner-price"
FALLBACK = FeedCategory("other", "Прочее")
UNIT = (
    '<БазоваяЕдиница Код="796" НаименованиеПолное="Штука" '
    'МеждународноеСокращение="PCE">шт</БазоваяЕдиница>'
)
KIND_TITLES = {"key": "Лицензия (ключ активации)", "subscription": "Подписка"}


def _groups(tree: list[FeedCategory], parent: str | None, known: set[str]) -> Iterator[str]:
    children = [c for c in tree if (c.parent_id if c.parent_id in known else None) == parent]
    if not children:
        return
    yield "<Группы>"
    for child in children:
        yield "<Группа>" + element("Ид", child.id) + element("Наименование", child.name)
        yield from _groups(tree, child.id, known)
        yield "</Группа>"
    yield "</Группы>"


def _requisite(name: str, value: str) -> str:
    return (
        "<ЗначениеРеквизита>"
        + element("Наименование", name)
        + element("Значение", value)
        + "</ЗначениеРеквизита>"
    )


# Fragments shared by many products are rendered once (a feed repeats them thousands of times).


@lru_cache(maxsize=1024)
def _group_and_vendor(group: str, vendor_id: str, vendor: str) -> str:
    return (
        "<Группы>"
        + element("Ид", group)
        + "</Группы><Изготовитель>"
        + element("Ид", vendor_id)
        + element("Наименование", vendor)
        + "</Изготовитель>"
    )


@lru_cache(maxsize=64)
def _tax_and_kind(vat_rate: str, kind: str) -> str:
    vat = "Без налога" if vat_rate == "exempt" else vat_rate
    return (
        "<СтавкиНалогов><СтавкаНалога>"
        + element("Наименование", "НДС")
        + element("Ставка", vat)
        + "</СтавкаНалога></СтавкиНалогов><ЗначенияРеквизитов>"
        + _requisite("ВидНоменклатуры", KIND_TITLES.get(kind, kind))
        + _requisite("ТипНоменклатуры", "Услуга")
    )


_PRICE_TAIL = element("Единица", "шт") + element("Коэффициент", "1") + "</Цена></Цены>"
_PRICE_TYPE = element("ИдТипаЦены", PRICE_TYPE_ID)


def _good(offer: Offer, group: str) -> str:
    sku = element("Ид", offer.sku) + element("Артикул", offer.sku)
    parts = [
        "<Товар>",
        sku,
        element("Наименование", offer.name),
        UNIT,
        _group_and_vendor(group, offer.vendor_id or offer.vendor, offer.vendor),
        _tax_and_kind(offer.vat_rate, offer.kind),
        _requisite("Полное наименование", offer.name),
    ]
    if offer.version:
        parts.append(_requisite("Версия", offer.version))
    if offer.download_url:
        parts.append(_requisite("Ссылка на дистрибутив", offer.download_url))
    for spec in offer.required_fields:
        parts.append(_requisite(f"Обязательное поле заказа: {spec.name}", spec.pattern))
    parts.append("</ЗначенияРеквизитов></Товар>")
    return "".join(parts)


def _offer(offer: Offer) -> str:
    price = money(offer.price)
    currency = x(offer.currency)
    return (
        "<Предложение>"
        + element("Ид", offer.sku)
        + element("Артикул", offer.sku)
        + element("Наименование", offer.name)
        + UNIT
        + "<Цены><Цена><Представление>"
        + f"{price} {currency} за шт</Представление>"
        + _PRICE_TYPE
        + f"<ЦенаЗаЕдиницу>{price}</ЦенаЗаЕдиницу><Валюта>{currency}</Валюта>"
        + _PRICE_TAIL
        + ("<Количество>1000000</Количество>" if offer.active else "<Количество>0</Количество>")
        + "</Предложение>"
    )


def write_commerceml(
    offers: OfferSource,
    categories: Iterable[FeedCategory],
    *,
    generated_at: datetime,
    only_changes: bool = False,
    shop: Shop | None = None,
) -> Iterator[str]:
    shop = shop or Shop()
    tree = ordered_tree(categories)
    if FALLBACK.id not in {c.id for c in tree}:
        tree.append(FALLBACK)
    known = {c.id for c in tree}
    changes = "true" if only_changes else "false"

    def pieces() -> Iterator[str]:
        yield '<?xml version="1.0" encoding="UTF-8"?>\n'
        yield (
            f"<КоммерческаяИнформация xmlns={attr(NAMESPACE)} "
            f"ВерсияСхемы={attr(SCHEMA_VERSION)} "
            f"ДатаФормирования={attr(generated_at.replace(microsecond=0).isoformat())}>"
        )
        yield "<Классификатор>" + element("Ид", CLASSIFIER_ID)
        yield element("Наименование", f"Классификатор ({shop.name})")
        yield from _groups(tree, None, known)
        yield "</Классификатор>"
        yield f"<Каталог СодержитТолькоИзменения={attr(changes)}>"
        yield element("Ид", CATALOG_ID) + element("ИдКлассификатора", CLASSIFIER_ID)
        yield element("Наименование", f"Каталог товаров ({shop.name})") + "<Товары>"
        for offer in offers_of(offers):
            group = offer.category_id if offer.category_id in known else FALLBACK.id
            yield _good(offer, group)
        yield "</Товары></Каталог>"
        yield f"<ПакетПредложений СодержитТолькоИзменения={attr(changes)}>"
        yield element("Ид", OFFERS_ID) + element("Наименование", "Пакет предложений")
        yield element("ИдКаталога", CATALOG_ID) + element("ИдКлассификатора", CLASSIFIER_ID)
        yield (
            "<ТипыЦен><ТипЦены>"
            + element("Ид", PRICE_TYPE_ID)
            + element("Наименование", "Цена партнёра")
            + element("Валюта", "RUB")
            + "<Налог>"
            + element("Наименование", "НДС")
            + element("УчтеноВСумме", "true")
            + "</Налог></ТипЦены></ТипыЦен><Предложения>"
        )
        for offer in offers_of(offers):
            yield _offer(offer)
        yield "</Предложения></ПакетПредложений></КоммерческаяИнформация>\n"

    return chunked(pieces())
