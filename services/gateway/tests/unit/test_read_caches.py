"""The caches' own rules: trusted only while listening, a fetch that raced an invalidation is not
kept, a balance expires by monotonic time and by the service clock."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from gateway.adapters.read_caches import BalanceCache, FinalOrders, KeyCache

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
P = uuid.UUID(int=1)
Q = uuid.UUID(int=2)


class Tick:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def listening_balances(ttl: float = 2.0) -> tuple[BalanceCache, Tick]:
    tick = Tick()
    cache = BalanceCache(ttl, monotonic=tick)
    cache.listening(True)
    return cache, tick


class TestKeyCache:
    def test_nothing_is_kept_or_served_while_the_listener_is_down(self) -> None:
        cache = KeyCache()
        cache.put("h", "partner", cache.generation)
        assert cache.get("h") is None
        cache.listening(True)
        cache.put("h", "partner", cache.generation)
        assert cache.get("h") == "partner"
        cache.listening(False)
        assert cache.get("h") is None
        cache.listening(True)
        assert cache.get("h") is None  # notifications sent meanwhile were missed

    def test_a_lookup_that_raced_a_change_is_not_kept(self) -> None:
        cache = KeyCache()
        cache.listening(True)
        before = cache.generation
        cache.on_notify("api_keys")  # a revocation committed while the lookup ran
        cache.put("h", "partner", before)
        assert cache.get("h") is None

    def test_any_notification_forgets_every_key(self) -> None:
        cache = KeyCache()
        cache.listening(True)
        cache.put("a", 1, cache.generation)
        cache.put("b", 2, cache.generation)
        cache.on_notify("partners")
        assert cache.get("a") is None
        assert cache.get("b") is None

    def test_it_stays_bounded(self) -> None:
        cache = KeyCache(size=2)
        cache.listening(True)
        for name in "abc":
            cache.put(name, name, cache.generation)
        assert len(cache) == 2
        assert cache.get("a") is None


class TestBalanceCache:
    def test_kept_within_the_ttl_then_asked_again(self) -> None:
        cache, tick = listening_balances(ttl=2.0)
        cache.put(P, cache.generation(P), NOW, "b1")
        assert cache.get(P, NOW) == "b1"
        tick.now += 1.9
        assert cache.get(P, NOW + timedelta(seconds=1.9)) == "b1"
        tick.now += 0.2
        assert cache.get(P, NOW + timedelta(seconds=2.1)) is None

    def test_a_moved_service_clock_expires_it(self) -> None:
        cache, _ = listening_balances(ttl=2.0)
        cache.put(P, cache.generation(P), NOW, "b1")
        assert cache.get(P, NOW + timedelta(days=1)) is None

    def test_the_partners_notification_forgets_only_that_partner(self) -> None:
        cache, _ = listening_balances()
        cache.put(P, cache.generation(P), NOW, "p")
        cache.put(Q, cache.generation(Q), NOW, "q")
        cache.on_notify(str(P))
        assert cache.get(P, NOW) is None
        assert cache.get(Q, NOW) == "q"

    def test_a_fetch_that_raced_an_invalidation_is_not_kept(self) -> None:
        cache, _ = listening_balances()
        before = cache.generation(P)
        cache.on_notify(str(P))  # credit changed the balance while the query was out
        cache.put(P, before, NOW, "stale")
        assert cache.get(P, NOW) is None
        cache.put(P, cache.generation(P), NOW, "fresh")
        assert cache.get(P, NOW) == "fresh"

    def test_a_lost_listener_forgets_everything_and_bypasses(self) -> None:
        cache, _ = listening_balances()
        before = cache.generation(P)
        cache.put(P, before, NOW, "b")
        cache.listening(False)
        assert cache.get(P, NOW) is None
        cache.put(P, cache.generation(P), NOW, "b")
        assert cache.get(P, NOW) is None
        cache.listening(True)
        cache.put(P, before, NOW, "b")  # fetched before the gap: not kept
        assert cache.get(P, NOW) is None

    def test_a_zero_ttl_keeps_nothing(self) -> None:
        cache, _ = listening_balances(ttl=0)
        cache.put(P, cache.generation(P), NOW, "b")
        assert cache.get(P, NOW) is None
        assert cache.expiry(P, NOW) is None

    def test_an_unreadable_payload_forgets_everything(self) -> None:
        cache, _ = listening_balances()
        cache.put(P, cache.generation(P), NOW, "b")
        cache.on_notify("not-a-uuid")
        assert cache.get(P, NOW) is None


class Row:
    def __init__(self, order_id: uuid.UUID, partner_id: uuid.UUID) -> None:
        self.id = order_id
        self.partner_id = partner_id


class TestFinalOrders:
    def test_only_the_owner_gets_it(self) -> None:
        orders = FinalOrders()
        row = Row(uuid.uuid4(), P)
        orders.put(row, ("k",))
        assert orders.get(row.id, P) == (row, ("k",))
        assert orders.get(row.id, Q) is None
