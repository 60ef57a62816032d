"""The saga memory: bounded, forgets final sagas, and turns itself off for a while when what it
remembers keeps being out of date (several orders processes share the queues)."""

from __future__ import annotations

from orders.adapters.memory import PAUSE, STALE_LIMIT, WINDOW, SagaMemory
from orders.domain.saga import OrderSaga, State

from services.orders.tests.unit.test_saga import NOW, place


def saga() -> OrderSaga:
    return OrderSaga.accept(place(), NOW)[0]


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_kept_saga_is_taken_once_and_a_final_one_is_not_kept() -> None:
    memory = SagaMemory()
    one = saga()
    memory.keep(one)
    assert memory.take(one.order_id) is one
    assert memory.take(one.order_id) is None
    one.state = State.COMPLETED
    memory.keep(one)
    assert len(memory) == 0


def test_the_least_recently_kept_go_first() -> None:
    memory = SagaMemory(capacity=2)
    first, second, third = saga(), saga(), saga()
    for each in (first, second, third):
        memory.keep(each)
    assert memory.take(first.order_id) is None
    assert memory.take(third.order_id) is third


def test_out_of_date_again_and_again_it_pauses_then_tries_again() -> None:
    clock = Clock()
    memory = SagaMemory(monotonic=clock)
    for _ in range(WINDOW):
        memory.used(up_to_date=True)
    for _ in range(STALE_LIMIT - 1):
        memory.used(up_to_date=False)
    kept = saga()
    memory.keep(kept)
    assert memory.on  # a few out of date in the window: still on
    assert len(memory) == 1

    memory.used(up_to_date=False)
    assert not memory.on
    assert len(memory) == 0  # forgotten at once
    memory.keep(saga())
    assert len(memory) == 0  # and nothing kept while off

    clock.now += PAUSE
    assert memory.on
    again = saga()
    memory.keep(again)
    assert memory.take(again.order_id) is again
