"""A statement is posted in chunks that never split one payer's payments (one allocation pass
per partner, in the order given), payers in the order they first appear."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from credit.service_layer import receivables
from credit.service_layer.receivables import PaymentInput, _chunks_by_payer


def _payments(inns: str) -> list[PaymentInput]:
    return [
        PaymentInput(payer_inn=inn, amount=Decimal("1.00"), date=date(2026, 11, 27), number=str(n))
        for n, inn in enumerate(inns)
    ]


def test_a_payer_is_never_split_and_its_order_is_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(receivables, "CHUNK", 3)
    inputs = _payments("ABACBDAEC")
    chunks = _chunks_by_payer(inputs)
    assert sorted(i for chunk in chunks for i in chunk) == list(range(len(inputs)))
    for inn in "ABCDE":
        holding = [c for c in chunks if any(inputs[i].payer_inn == inn for i in c)]
        assert len(holding) == 1, inn
        mine = [i for i in holding[0] if inputs[i].payer_inn == inn]
        assert mine == sorted(mine)
    # A (0, 2, 6) fills the first chunk; B (1, 4) and C (3, 8) the second; D, E the last
    assert chunks == [[0, 2, 6], [1, 4, 3, 8], [5, 7]]


def test_one_chunk_when_small() -> None:
    inputs = _payments("ABAB")
    assert _chunks_by_payer(inputs) == [[0, 2, 1, 3]]
    assert _chunks_by_payer([]) == []
