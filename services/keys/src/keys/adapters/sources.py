"""The key sources behind one interface: where an order's keys come from.

Every adapter issues a whole order or refuses it (:class:`~keys.domain.model.Refusal`); none
returns a partial set. ``prepare`` runs *outside* the database transaction (a vendor's HTTP
call must not hold a connection and row locks); ``issue`` runs inside it and returns the sealed
keys to store. Plain keys exist only inside an adapter, on their way to :class:`KeyCipher`, and
in :meth:`Sealer.for_delivery`, on their way to the gateway's seal.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Protocol

from esd_platform.delivery import DeliverySeal
from sqlalchemy.ext.asyncio import AsyncConnection

from keys.adapters import repository
from keys.adapters.crypto import KeyCipher, KeyHasher, KeySigner
from keys.domain import key_format
from keys.domain.model import (
    OUT_OF_STOCK,
    KeyRequest,
    Refusal,
    SealedKey,
    Source,
)


class KeySourceAdapter(Protocol):
    """One way of getting keys for an order: all of them, or a refusal."""

    async def prepare(self, request: KeyRequest) -> Any:
        """Work done before the transaction (remote calls); its result is passed to ``issue``."""

    async def issue(
        self, conn: AsyncConnection, request: KeyRequest, prepared: Any, now: datetime
    ) -> list[SealedKey] | Refusal:
        """The order's keys, sealed, in the caller's transaction; or why there are none."""


class Sealer:
    """Turns plain keys into what is stored: keyed hash plus AES-GCM ciphertext."""

    def __init__(
        self, cipher: KeyCipher, hasher: KeyHasher, delivery: DeliverySeal | None = None
    ) -> None:
        self.cipher = cipher
        self.hasher = hasher
        self.delivery = delivery

    def seal(self, plain: str) -> SealedKey:
        return SealedKey(self.hasher.digest(plain), self.cipher.seal(plain))

    def for_delivery(
        self, order_id: uuid.UUID, key_ids: Sequence[uuid.UUID], keys: Sequence[SealedKey]
    ) -> str | None:
        """The order's keys sealed for the gateway (None when this worker has no seal)."""
        if self.delivery is None:
            return None
        plain = [self.cipher.open(key.ciphertext) for key in keys]
        return self.delivery.seal(order_id, list(zip(key_ids, plain, strict=True)))


class TestKeys:
    """``TEST-…`` keys for test orders: no pool, no vendor, no signature."""

    __test__ = False  # not a pytest test class, despite its name

    def __init__(self, sealer: Sealer) -> None:
        self._sealer = sealer

    async def prepare(self, request: KeyRequest) -> None:
        return None

    async def issue(
        self, conn: AsyncConnection, request: KeyRequest, prepared: Any, now: datetime
    ) -> list[SealedKey]:
        return [
            self._sealer.seal(key_format.test_key(os.urandom(15))) for _ in range(request.quantity)
        ]


class GeneratedKeys:
    """Keys made and signed here (Ed25519); a vendor verifies them offline."""

    def __init__(self, sealer: Sealer, signer: KeySigner) -> None:
        self._sealer = sealer
        self._signer = signer

    async def prepare(self, request: KeyRequest) -> None:
        return None

    async def issue(
        self, conn: AsyncConnection, request: KeyRequest, prepared: Any, now: datetime
    ) -> list[SealedKey]:
        return [
            self._sealer.seal(self._signer.new_key(request.sku)) for _ in range(request.quantity)
        ]


class PoolContendedError(RuntimeError):
    """Free keys exist but are locked by orders in flight; retry (the message is requeued)."""


class PoolKeys:
    """Keys ops loaded in advance, each claimed by exactly one order (``SKIP LOCKED``)."""

    async def prepare(self, request: KeyRequest) -> None:
        return None

    async def issue(
        self, conn: AsyncConnection, request: KeyRequest, prepared: Any, now: datetime
    ) -> list[SealedKey] | Refusal:
        keys = await repository.claim_pool_keys(conn, request, now)
        if len(keys) == request.quantity:
            return keys
        # Too few unlocked free keys. If enough free ones exist but other orders hold their
        # locks right now, the answer is not known yet: a transient fault, retried shortly.
        if await repository.free_pool_keys(conn, request.sku) >= request.quantity:
            raise PoolContendedError(f"pool {request.sku} busy; retrying")
        return Refusal(OUT_OF_STOCK)


class Adapters:
    """The adapter per source; the handler asks here, never decides itself."""

    def __init__(
        self, by_source: Mapping[Source, KeySourceAdapter], sealer: Sealer | None = None
    ) -> None:
        missing = {"test", "generator", "pool", "vendor_api"} - set(by_source)
        if missing:
            raise ValueError(f"no adapter for {sorted(missing)}")
        self._by_source = dict(by_source)
        self.sealer = sealer
        """Seals issued keys for the gateway (:meth:`Sealer.for_delivery`); None: not sealed."""

    def for_source(self, source: Source) -> KeySourceAdapter:
        return self._by_source[source]
