"""Per-process caches of the gateway's hot reads: who an API key is, a partner's balance, a
final order and its keys.

Each is trusted only while this process's LISTEN connection is up (``connected``): the
notifications that invalidate them arrive there, after the commit that changed the data
(``gateway.adapters.waiters``). When the connection is lost a cache empties and is bypassed;
when it comes back it starts empty, since notifications sent meanwhile were missed.

- :class:`KeyCache`: API-key hash → partner. A trigger on ``api_keys`` and ``partners``
  notifies ``gateway_auth_changed`` on any update or delete (revocation, go-live, a rejected
  partner), so every worker forgets every entry; the process that made the change also forgets
  at once, before it answers (``forget_all``), so a revoked key is refused by the next request.
- :class:`BalanceCache`: a partner's current balance from the credit service, for at most
  ``ttl`` seconds of monotonic time and of the service clock (a test clock moved ahead expires
  it). Credit's events and the partner's orders becoming final notify ``gateway_balance_changed``
  with the partner id. A fetch that started before an invalidation is not stored (generation).
- :class:`FinalOrders`: a final order's row and keys. A final order never changes again and
  keys are never exchanged, so there is nothing to invalidate; the owner is checked on every hit.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, Generic, TypeVar

AUTH_CHANNEL = "gateway_auth_changed"
BALANCE_CHANNEL = "gateway_balance_changed"
BALANCE_NOTIFY_SQL = f"SELECT pg_notify('{BALANCE_CHANNEL}', :partner_id)"

K = TypeVar("K")
V = TypeVar("V")


class _Bounded(Generic[K, V]):
    """A dict that drops its oldest entry beyond ``size``; empty and bypassed while the
    invalidation listener is down."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.connected = False
        self._entries: OrderedDict[K, V] = OrderedDict()

    def _get(self, key: K) -> V | None:
        return self._entries.get(key) if self.connected else None

    def _put(self, key: K, value: V) -> None:
        if not self.connected:
            return
        self._entries[key] = value
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)

    def forget_all(self) -> None:
        self._entries.clear()

    def listening(self, connected: bool) -> None:
        """The listener's state changed: either way, what we hold may have missed a change."""
        self.forget_all()
        self.connected = connected

    def __len__(self) -> int:
        return len(self._entries)


class KeyCache(_Bounded[str, Any]):
    def __init__(self, size: int = 10_000) -> None:
        super().__init__(size)
        self.generation = 0

    def get(self, hashed: str) -> Any | None:
        return self._get(hashed)

    def put(self, hashed: str, partner: Any, generation: int) -> None:
        """Store what a lookup found, unless a change was announced while it ran."""
        if generation == self.generation:
            self._put(hashed, partner)

    def forget_all(self) -> None:
        self.generation += 1
        super().forget_all()

    def on_notify(self, _payload: str) -> None:
        self.forget_all()


class BalanceCache(_Bounded[uuid.UUID, tuple[float, datetime, Any]]):
    def __init__(
        self,
        ttl: float,
        size: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(size)
        self.ttl = ttl
        self.monotonic = monotonic
        self._generations: dict[uuid.UUID, int] = {}
        self._epoch = 0
        self.in_flight: dict[uuid.UUID, tuple[tuple[int, int], Any]] = {}
        """A partner's balance query under way and the generation it was sent at (for
        ``controllers.balance.current_balance``)."""

    def generation(self, partner_id: uuid.UUID) -> tuple[int, int]:
        return self._epoch, self._generations.get(partner_id, 0)

    def get(self, partner_id: uuid.UUID, now: datetime) -> Any | None:
        if self.ttl <= 0:
            return None
        entry = self._get(partner_id)
        if entry is None:
            return None
        expires, fetched_at, balance = entry
        if self.monotonic() >= expires or abs((now - fetched_at).total_seconds()) >= self.ttl:
            self._entries.pop(partner_id, None)
            return None
        return balance

    def expiry(self, partner_id: uuid.UUID, now: datetime) -> float | None:
        """The monotonic moment the partner's cached balance expires; None if none is held."""
        if self.get(partner_id, now) is None:
            return None
        return self._entries[partner_id][0]

    def put(
        self, partner_id: uuid.UUID, generation: tuple[int, int], now: datetime, balance: Any
    ) -> None:
        if self.ttl > 0 and generation == self.generation(partner_id):
            self._put(partner_id, (self.monotonic() + self.ttl, now, balance))

    def forget(self, partner_id: uuid.UUID) -> None:
        self._generations[partner_id] = self._generations.get(partner_id, 0) + 1
        if len(self._generations) > 4 * self.size:
            self._generations.clear()
            self._epoch += 1
        self._entries.pop(partner_id, None)

    def forget_all(self) -> None:
        self._epoch += 1
        super().forget_all()

    def on_notify(self, payload: str) -> None:
        try:
            self.forget(uuid.UUID(payload))
        except ValueError:
            self.forget_all()


class FinalOrders(_Bounded[uuid.UUID, tuple[Any, Any]]):
    """order id → (row, keys as the keys service gave them)."""

    def __init__(self, size: int = 20_000) -> None:
        super().__init__(size)
        self.connected = True  # nothing to invalidate: a final order never changes

    def get(self, order_id: uuid.UUID, partner_id: uuid.UUID) -> tuple[Any, Any] | None:
        found = self._get(order_id)
        if found is None or found[0].partner_id != partner_id:
            return None  # another partner's order: the database read answers 404
        return found

    def put(self, row: Any, keys: Any) -> None:
        self._put(row.id, (row, keys))

    def listening(self, connected: bool) -> None:
        """Final orders do not depend on notifications."""
