"""The keys sampler turns the keys service's answers into the stock and vendor circuit gauges
(0 closed, 1 half-open, 2 open; the default vendor API labelled ``default``)."""

from __future__ import annotations

from typing import Any

import esd_platform.observability as observability
import pytest
from esd_contracts.keys.queries import (
    GetKeyStock,
    KeyStock,
    SkuStock,
    VendorHealth,
    VendorHealthItem,
)
from prometheus_client import REGISTRY


def vendor(name: str, circuit: str) -> VendorHealthItem:
    return VendorHealthItem(
        vendor=name, circuit=circuit, calls=10, failures=5, error_rate=0.5, workers=()
    )


async def test_stock_and_vendor_circuit_gauges(monkeypatch: pytest.MonkeyPatch) -> None:
    async def answer(_service: Any, query: Any, _answer: type[Any]) -> Any:
        if isinstance(query, GetKeyStock):
            return KeyStock(
                items=(
                    SkuStock(sku="SKU-GAUGE", available=7, issued=3, low_threshold=5, low=False),
                )
            )
        return VendorHealth(
            vendors=(
                vendor("gauge-open", "open"),
                vendor("gauge-half", "half_open"),
                vendor("", "closed"),
            )
        )

    monkeypatch.setattr(observability, "_ask", answer)
    await observability.sample_keys(object())  # type: ignore[arg-type]

    def gauge(name: str, **labels: str) -> float | None:
        return REGISTRY.get_sample_value(name, labels)

    assert gauge("esd_key_stock", sku="SKU-GAUGE") == 7
    assert gauge("esd_vendor_circuit_state", vendor="gauge-open") == 2
    assert gauge("esd_vendor_circuit_state", vendor="gauge-half") == 1
    assert gauge("esd_vendor_circuit_state", vendor="default") == 0
