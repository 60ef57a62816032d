"""Which adapter issues an order, and the all-or-nothing rule."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from keys.adapters.sources import Adapters
from keys.domain.model import KeyRequest, SealedKey, check_complete, source_for, stock_is_low


class TestSourceFor:
    @pytest.mark.parametrize("key_source", ["generator", "pool", "vendor_api"])
    def test_test_orders_never_touch_a_pool_or_vendor(self, key_source: str) -> None:
        assert source_for(test=True, key_source=key_source) == "test"

    @pytest.mark.parametrize("key_source", ["generator", "pool", "vendor_api"])
    def test_real_orders_use_the_products_source(self, key_source: str) -> None:
        assert source_for(test=False, key_source=key_source) == key_source

    def test_unknown_source_is_an_error(self) -> None:
        with pytest.raises(ValueError, match="unknown key source"):
            source_for(test=False, key_source="carrier_pigeon")


class TestAdapters:
    def test_each_source_gets_its_own_adapter(self) -> None:
        marks: dict[str, Any] = {s: object() for s in ("test", "generator", "pool", "vendor_api")}
        adapters = Adapters(marks)  # type: ignore[arg-type]
        for source, adapter in marks.items():
            assert adapters.for_source(source) is adapter  # type: ignore[arg-type]

    def test_missing_adapter_is_refused_at_start(self) -> None:
        with pytest.raises(ValueError, match="no adapter"):
            Adapters({"test": object()})  # type: ignore[dict-item]


class TestAllOrNothing:
    def request(self, quantity: int) -> KeyRequest:
        return KeyRequest(uuid.uuid4(), uuid.uuid4(), "SKU", quantity, "pool")

    def test_complete_set_passes(self) -> None:
        check_complete(self.request(2), [SealedKey(b"a", "x"), SealedKey(b"b", "y")])

    def test_short_set_is_a_bug(self) -> None:
        with pytest.raises(ValueError, match="returned 1 keys"):
            check_complete(self.request(2), [SealedKey(b"a", "x")])


class TestStockLow:
    def test_low_under_threshold(self) -> None:
        assert stock_is_low(9, 10)
        assert not stock_is_low(10, 10)

    def test_zero_threshold_never_alarms(self) -> None:
        assert not stock_is_low(0, 0)
