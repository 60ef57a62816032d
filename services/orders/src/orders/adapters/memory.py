"""The sagas this process wrote last, so that the next reply to one needs no read.

A reply used to begin with ``SELECT … FOR UPDATE`` on the saga's row: one round trip of four on
every hop of the saga, for a row this very process had just written. The memory keeps what was
committed; the transition written from it is guarded by the version it remembers (the
``UPDATE … WHERE version = …`` of :func:`orders.adapters.repository.save_at_commit` fails the
commit when no row moved), so a memory that is out of date (another orders process moved the
saga, or a transaction of this one did) costs one failed attempt and a read, never a wrong
state. A saga is taken out while a reply is applied to it and put back only after the commit.
"""

from __future__ import annotations

import uuid
from collections import OrderedDict

from orders.domain.saga import FINAL, OrderSaga

CAPACITY = 20_000
"""Sagas kept; the least recently written go first (an order's replies come within seconds)."""


class SagaMemory:
    def __init__(self, capacity: int = CAPACITY) -> None:
        self._capacity = capacity
        self._sagas: OrderedDict[uuid.UUID, OrderSaga] = OrderedDict()

    def take(self, order_id: uuid.UUID) -> OrderSaga | None:
        """The saga as this process last committed it, now out of memory; None if unknown."""
        return self._sagas.pop(order_id, None)

    def keep(self, saga: OrderSaga) -> None:
        """``saga`` is committed as it is now; a final one is forgotten (no reply moves it)."""
        if saga.state in FINAL:
            self._sagas.pop(saga.order_id, None)
            return
        self._sagas[saga.order_id] = saga
        self._sagas.move_to_end(saga.order_id)
        while len(self._sagas) > self._capacity:
            self._sagas.popitem(last=False)

    def __len__(self) -> int:
        return len(self._sagas)
