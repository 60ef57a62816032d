"""Partner prices from price rules: precedence, rounding, validation."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from esd_feeds.pricing import Adjustment, PriceRule, partner_price, problems
from hypothesis import given
from hypothesis import strategies as st


@dataclass(frozen=True)
class Product:
    sku: str
    vendor_id: str | None
    base_price: Decimal


KIS = Product("KL-KIS", "kaspersky", Decimal("1790.00"))
PATH = ("security", "antivirus")


def pct(value: str, **aim: str) -> Adjustment:
    return Adjustment(percent=Decimal(value), **aim)  # type: ignore[arg-type]


class TestPartnerPrice:
    def test_no_rules_is_the_base_price(self) -> None:
        assert partner_price(KIS, [None, None], PATH) == Decimal("1790.00")

    def test_a_discount_for_everything(self) -> None:
        assert partner_price(KIS, [PriceRule((pct("-10"),))], PATH) == Decimal("1611.00")

    def test_a_markup_rounds_half_up_to_kopecks(self) -> None:
        product = Product("X", None, Decimal("99.99"))
        assert partner_price(product, [PriceRule((pct("12.5"),))]) == Decimal("112.49")

    def test_sku_beats_category_beats_vendor_beats_everything(self) -> None:
        rule = PriceRule(
            (
                pct("-1"),
                pct("-2", vendor_id="kaspersky"),
                pct("-3", category_id="security"),
                pct("-4", category_id="antivirus"),
                Adjustment(fixed_price=Decimal("1500.00"), sku="KL-KIS"),
            )
        )
        assert partner_price(KIS, [rule], PATH) == Decimal("1500.00")
        other = Product("KL-KAV", "kaspersky", Decimal("1000.00"))
        assert partner_price(other, [rule], PATH) == Decimal("960.00")
        assert partner_price(other, [rule], ("security",)) == Decimal("970.00")
        assert partner_price(other, [rule], ("office",)) == Decimal("980.00")
        eset = Product("ES-1", "eset", Decimal("1000.00"))
        assert partner_price(eset, [rule], ("office",)) == Decimal("990.00")

    def test_a_vendor_within_a_category_beats_the_category_alone(self) -> None:
        rule = PriceRule(
            (
                pct("-5", category_id="antivirus"),
                pct("-7", category_id="antivirus", vendor_id="kaspersky"),
            )
        )
        assert partner_price(KIS, [rule], PATH) == Decimal("1664.70")

    def test_the_partners_own_rule_comes_before_its_distributors(self) -> None:
        own = PriceRule((pct("-3", vendor_id="eset"),))
        distributor = PriceRule((pct("-8"),))
        assert partner_price(KIS, [own, distributor], PATH) == Decimal("1646.80")
        eset = Product("ES-1", "eset", Decimal("1000.00"))
        assert partner_price(eset, [own, distributor], PATH) == Decimal("970.00")

    def test_a_discount_never_goes_below_zero(self) -> None:
        assert partner_price(KIS, [PriceRule((pct("-100"),))]) == Decimal("0.00")

    @given(
        base=st.decimals(min_value=0, max_value=10**7, places=2),
        percent=st.decimals(min_value=-100, max_value=1000, places=2),
    )
    def test_always_two_places_and_never_negative(self, base: Decimal, percent: Decimal) -> None:
        price = partner_price(Product("S", "v", base), [PriceRule((pct(str(percent)),))])
        assert price >= 0
        assert price == price.quantize(Decimal("0.01"))


class TestProblems:
    def test_valid(self) -> None:
        assert problems(pct("-10", vendor_id="eset")) == []
        assert problems(Adjustment(fixed_price=Decimal("10.00"), sku="A")) == []

    def test_invalid(self) -> None:
        assert problems(Adjustment())
        assert problems(Adjustment(percent=Decimal(1), fixed_price=Decimal(1), sku="A"))
        assert problems(pct("-101"))
        assert problems(Adjustment(fixed_price=Decimal("10.00")))
        assert problems(Adjustment(fixed_price=Decimal("-1"), sku="A"))
        assert problems(Adjustment(fixed_price=Decimal("1.001"), sku="A"))


class TestVatIncluded:
    def test_exempt_is_zero(self) -> None:
        from esd_feeds.pricing import vat_included

        assert vat_included(Decimal("1490.00"), "exempt") == Decimal("0.00")

    def test_22_percent_inside_the_amount(self) -> None:
        from esd_feeds.pricing import vat_included

        assert vat_included(Decimal("122.00"), "22") == Decimal("22.00")
        assert vat_included(Decimal("699.00"), "22") == Decimal("126.05")


class TestRuleFromLines:
    def test_reads_stored_json_lines(self) -> None:
        from esd_feeds.pricing import rule_from_lines

        rule = rule_from_lines(
            [{"percent": "-10", "vendor_id": "kaspersky"}, {"fixed_price": "1500.00", "sku": "A"}]
        )
        assert rule.adjustments[0] == Adjustment(percent=Decimal("-10"), vendor_id="kaspersky")
        assert rule.adjustments[1].fixed_price == Decimal("1500.00")
