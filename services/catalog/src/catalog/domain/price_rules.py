"""Checking a price rule before it is stored. Pure; the arithmetic is :mod:`esd_feeds.pricing`,
shared with the gateway, which applies the rules wherever a partner sees a price."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from esd_feeds.pricing import Adjustment, problems


def rule_problems(
    adjustments: Sequence[Adjustment],
    *,
    skus: Collection[str],
    vendors: Collection[str],
    categories: Collection[str],
) -> list[str]:
    """Every reason the rule cannot be stored, 'line N: …' (lines from 1); empty when it can.

    ``skus`` are the known skus among those the rule names; ``vendors`` and ``categories`` ids.
    """
    found: list[str] = []
    aims: dict[tuple[str | None, str | None, str | None], int] = {}
    for line, adjustment in enumerate(adjustments, start=1):
        reasons = problems(adjustment)
        if adjustment.sku is not None and adjustment.sku not in skus:
            reasons.append(f"unknown sku {adjustment.sku!r}")
        if adjustment.vendor_id is not None and adjustment.vendor_id not in vendors:
            reasons.append(f"unknown vendor {adjustment.vendor_id!r}")
        if adjustment.category_id is not None and adjustment.category_id not in categories:
            reasons.append(f"unknown category {adjustment.category_id!r}")
        aim = (adjustment.sku, adjustment.vendor_id, adjustment.category_id)
        if aim in aims:
            reasons.append(f"aims at the same products as line {aims[aim]}")
        aims.setdefault(aim, line)
        found.extend(f"line {line}: {reason}" for reason in reasons)
    return found
