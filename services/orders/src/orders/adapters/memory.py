"""The sagas this process wrote last, so that the next reply to one needs no read.

A reply used to begin with ``SELECT … FOR UPDATE`` on the saga's row: one round trip of four on
every hop of the saga, for a row this very process had just written. The memory keeps what was
committed; the transition written from it is guarded by the version it remembers (the
``UPDATE … WHERE version = …`` of :func:`orders.adapters.repository.save_at_commit` fails the
commit when no row moved), so a memory that is out of date (another orders process moved the
saga, or a transaction of this one did) costs one failed attempt and a read, never a wrong
state. A saga is taken out while a reply is applied to it and put back only after the commit.

With several orders processes on the same queues (the Kubernetes manifests run two), a reply
often lands on the process that did not write the saga's last step, and a remembered saga is
out of date about as often as not: more failed attempts than saved reads. The memory notices
(:data:`STALE_LIMIT` of its last :data:`WINDOW` uses out of date) and stays off for
:data:`PAUSE` seconds, then tries again.
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict, deque
from collections.abc import Callable

from esd_platform.logging import get_logger

from orders.domain.saga import FINAL, OrderSaga

log = get_logger("esd.orders.memory")

CAPACITY = 20_000
"""Sagas kept; the least recently written go first (an order's replies come within seconds)."""

WINDOW = 64
STALE_LIMIT = 8
PAUSE = 60.0


class SagaMemory:
    def __init__(
        self, capacity: int = CAPACITY, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._capacity = capacity
        self._monotonic = monotonic
        self._sagas: OrderedDict[uuid.UUID, OrderSaga] = OrderedDict()
        self._uses: deque[bool] = deque(maxlen=WINDOW)
        """The last uses of a remembered saga: True when it was up to date."""
        self._off_until = 0.0

    @property
    def on(self) -> bool:
        return self._monotonic() >= self._off_until

    def take(self, order_id: uuid.UUID) -> OrderSaga | None:
        """The saga as this process last committed it, now out of memory; None if unknown."""
        return self._sagas.pop(order_id, None)

    def keep(self, saga: OrderSaga) -> None:
        """``saga`` is committed as it is now; a final one is forgotten (no reply moves it)."""
        if saga.state in FINAL or not self.on:
            self._sagas.pop(saga.order_id, None)
            return
        self._sagas[saga.order_id] = saga
        self._sagas.move_to_end(saga.order_id)
        while len(self._sagas) > self._capacity:
            self._sagas.popitem(last=False)

    def used(self, up_to_date: bool) -> None:
        """A remembered saga was used: it was up to date (committed), or not (failed)."""
        self._uses.append(up_to_date)
        if self._uses.count(False) >= STALE_LIMIT:
            log.warning("saga_memory_paused", stale=STALE_LIMIT, of=len(self._uses), seconds=PAUSE)
            self._off_until = self._monotonic() + PAUSE
            self._sagas.clear()
            self._uses.clear()

    def __len__(self) -> int:
        return len(self._sagas)
