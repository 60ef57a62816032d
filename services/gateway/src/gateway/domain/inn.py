"""The Russian taxpayer id (ИНН): 10 digits for organisations, 12 for individuals,
with one respectively two control digits (weighted sums mod 11 mod 10)."""

from __future__ import annotations

_WEIGHTS_10 = (2, 4, 10, 3, 5, 9, 4, 6, 8)
_WEIGHTS_11 = (7, 2, 4, 10, 3, 5, 9, 4, 6, 8)
_WEIGHTS_12 = (3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8)


def _control(digits: list[int], weights: tuple[int, ...]) -> int:
    return sum(d * w for d, w in zip(digits, weights, strict=False)) % 11 % 10


def is_valid_inn(inn: str) -> bool:
    """True when ``inn`` has 10 or 12 ASCII digits and its control digits match."""
    if len(inn) not in (10, 12) or not inn.isascii() or not inn.isdigit():
        return False
    digits = [int(c) for c in inn]
    if len(digits) == 10:
        return _control(digits, _WEIGHTS_10) == digits[9]
    return (
        _control(digits, _WEIGHTS_11) == digits[10] and _control(digits, _WEIGHTS_12) == digits[11]
    )
