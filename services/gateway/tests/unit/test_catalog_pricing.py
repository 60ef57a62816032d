"""Partner prices in the gateway resolve exactly as esd_feeds.pricing decides them, however the
indexed rule is asked; the feed cache keeps only complete, small-enough feeds."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from decimal import Decimal
from typing import cast

from esd_feeds.pricing import Adjustment, PriceRule, partner_price
from gateway.adapters.feed_cache import FeedCache, replay
from gateway.domain.pricing import PartnerRules
from hypothesis import given, settings
from hypothesis import strategies as st

SKUS = ["A", "B", "C"]
VENDORS = [None, "kaspersky", "eset"]
CATEGORIES = ["security", "antivirus", "office"]

adjustments = st.builds(
    Adjustment,
    percent=st.one_of(st.none(), st.decimals(-100, 100, places=1)),
    fixed_price=st.none(),
    sku=st.sampled_from([None, *SKUS]),
    vendor_id=st.sampled_from(VENDORS),
    category_id=st.sampled_from([None, *CATEGORIES]),
).map(lambda a: a if a.percent is not None else Adjustment(fixed_price=Decimal("5.00"), sku="A"))
rules = st.one_of(st.none(), st.builds(PriceRule, st.lists(adjustments, max_size=6).map(tuple)))
paths = st.sampled_from([(), ("security",), ("security", "antivirus"), ("office",)])


class Product:
    def __init__(self, sku: str, vendor_id: str | None, base_price: Decimal) -> None:
        self.sku, self.vendor_id, self.base_price = sku, vendor_id, base_price


class TestPartnerRules:
    @settings(max_examples=300, deadline=None)
    @given(
        own=rules,
        distributor=rules,
        asks=st.lists(
            st.tuples(st.sampled_from(SKUS), st.sampled_from(VENDORS), paths), min_size=1
        ),
    )
    def test_resolves_as_the_reference_whatever_was_asked_before(
        self,
        own: PriceRule | None,
        distributor: PriceRule | None,
        asks: list[tuple[str, str | None, tuple[str, ...]]],
    ) -> None:
        partner = PartnerRules(own, distributor)
        for sku, vendor_id, path in asks:
            base = Decimal("1490.00")
            expected = partner_price(Product(sku, vendor_id, base), (own, distributor), path)
            assert partner.price_of(sku, vendor_id, base, path) == expected

    def test_own_rule_before_distributors_and_sku_before_category(self) -> None:
        own = PriceRule((Adjustment(percent=Decimal("-10"), category_id="antivirus"),))
        distributor = PriceRule(
            (
                Adjustment(fixed_price=Decimal("1.00"), sku="A"),
                Adjustment(percent=Decimal("50")),
            )
        )
        partner = PartnerRules(own, distributor)
        base = Decimal("100.00")
        assert partner.price_of("A", None, base, ("security", "antivirus")) == Decimal("90.00")
        assert partner.price_of("A", None, base, ("office",)) == Decimal("1.00")
        assert partner.price_of("B", None, base, ("office",)) == Decimal("150.00")
        assert PartnerRules().price_of("B", None, Decimal("99.999"), ()) == Decimal("100.00")


async def collect(body: AsyncIterator[bytes]) -> list[bytes]:
    return [chunk async for chunk in body]


class TestFeedCache:
    async def test_keeps_a_complete_feed_and_serves_it_again(self) -> None:
        cache = FeedCache(max_bytes=100, max_entry=50)
        assert await collect(cache.keep('"t1"', replay([b"abc", b"def"]))) == [b"abc", b"def"]
        assert b"".join(cache.get('"t1"') or []) == b"abcdef"

    async def test_an_abandoned_or_too_large_feed_is_not_kept(self) -> None:
        cache = FeedCache(max_bytes=100, max_entry=5)
        await collect(cache.keep('"big"', replay([b"abc", b"def"])))
        assert cache.get('"big"') is None
        stream = cast(AsyncGenerator[bytes, None], cache.keep('"cut"', replay([b"a", b"b"])))
        assert await anext(stream) == b"a"
        await stream.aclose()  # the client went away mid-feed
        assert cache.get('"cut"') is None

    async def test_least_recently_used_goes_first(self) -> None:
        cache = FeedCache(max_bytes=10, max_entry=10)
        cache.put("a", [b"xxxx"])
        cache.put("b", [b"xxxx"])
        assert cache.get("a") is not None
        cache.put("c", [b"xxxx"])
        assert cache.get("b") is None
        assert cache.get("a") is not None
        assert cache.get("c") is not None
