"""The delivery seal: only the order it was sealed for opens it, with any secret still held."""

from __future__ import annotations

import uuid

import pytest
from esd_platform.delivery import DeliverySeal, SealBroken

ORDER = uuid.uuid4()
KEYS = [(uuid.uuid4(), "AAAA-BBBB-CCCC"), (uuid.uuid4(), "DDDD-EEEE-FFFF")]


def test_what_is_sealed_for_an_order_opens_for_it_and_hides_the_codes() -> None:
    seal = DeliverySeal("k1:secret")
    sealed = seal.seal(ORDER, KEYS)
    assert sealed.startswith("k1:")
    assert not any(code in sealed for _, code in KEYS)
    assert seal.open(ORDER, sealed) == KEYS


def test_another_order_cannot_open_it() -> None:
    seal = DeliverySeal("k1:secret")
    with pytest.raises(SealBroken):
        seal.open(uuid.uuid4(), seal.seal(ORDER, KEYS))


def test_a_changed_text_does_not_open() -> None:
    seal = DeliverySeal("k1:secret")
    kid, _, body = seal.seal(ORDER, KEYS).partition(":")
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(SealBroken):
        seal.open(ORDER, f"{kid}:{flipped}")
    with pytest.raises(SealBroken):
        seal.open(ORDER, "k1:not base64 at all!")


def test_another_secret_under_the_same_key_id_does_not_open() -> None:
    with pytest.raises(SealBroken):
        DeliverySeal("k1:other").open(ORDER, DeliverySeal("k1:secret").seal(ORDER, KEYS))


def test_rotation_seals_with_the_first_secret_and_opens_with_the_older_ones() -> None:
    old = DeliverySeal("k1:old").seal(ORDER, KEYS)
    rotated = DeliverySeal("k2:new,k1:old")
    assert rotated.open(ORDER, old) == KEYS
    assert rotated.seal(ORDER, KEYS).startswith("k2:")
    with pytest.raises(SealBroken):
        DeliverySeal("k2:new").open(ORDER, old)


def test_a_bare_secret_is_key_id_k1_and_an_empty_one_is_refused() -> None:
    assert DeliverySeal("bare").open(ORDER, DeliverySeal("k1:bare").seal(ORDER, KEYS)) == KEYS
    with pytest.raises(ValueError, match="no secret"):
        DeliverySeal(" , ")
