"""A price rule is checked line by line against the catalog before it is stored."""

from __future__ import annotations

from decimal import Decimal

from catalog.domain.price_rules import rule_problems
from esd_feeds.pricing import Adjustment

KNOWN = {"skus": {"KL-KIS"}, "vendors": {"kaspersky"}, "categories": {"antivirus"}}


class TestRuleProblems:
    def test_a_valid_rule(self) -> None:
        rule = [
            Adjustment(percent=Decimal("-10")),
            Adjustment(percent=Decimal("-12"), vendor_id="kaspersky"),
            Adjustment(percent=Decimal("-15"), category_id="antivirus", vendor_id="kaspersky"),
            Adjustment(fixed_price=Decimal("1500.00"), sku="KL-KIS"),
        ]
        assert rule_problems(rule, **KNOWN) == []

    def test_names_each_bad_line(self) -> None:
        rule = [
            Adjustment(percent=Decimal("-10"), vendor_id="nobody"),
            Adjustment(fixed_price=Decimal("10.00")),
            Adjustment(percent=Decimal("-5"), sku="NOPE"),
            Adjustment(percent=Decimal("-20"), vendor_id="nobody"),
        ]
        found = rule_problems(rule, **KNOWN)
        assert "line 1: unknown vendor 'nobody'" in found
        assert "line 2: a fixed price needs a sku" in found
        assert "line 3: unknown sku 'NOPE'" in found
        assert "line 4: aims at the same products as line 1" in found
