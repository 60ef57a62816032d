"""The vendor stub: a small Litestar app with a behaviour that tests steer.

``POST /v1/keys`` (``Idempotency-Key`` header required) issues ``quantity`` keys; the same
idempotency key always answers the same keys (a different body under a known key: 422).

Behaviour (``POST /control`` with any of these fields; ``GET /control`` shows them and stats):

- ``latency_ms``: every keys request waits this long first (slow vendor);
- ``mode``: ``ok`` | ``fail`` (503) | ``timeout`` (hangs ``hang_seconds``, issues nothing) |
  ``out_of_stock`` (409 ``{"error": "out_of_stock"}``);
- ``fail_next``: the next N keys requests answer 503, then back to ``mode``;
- ``timeout_next``: the next N keys requests *issue* the keys and then hang ``hang_seconds`` before
  answering — the lost-answer case a client must retry without getting a second set;
- ``hang_seconds``: how long a hang lasts (default 30).

``POST /control/reset`` forgets behaviour, issued sets and stats. ``GET /health`` answers 200.

Subscriptions (``Idempotency-Key`` required; ``mode`` fail/timeout, ``fail_next`` and
``latency_ms`` apply as to keys): ``POST /v1/subscriptions {"subscription_id", "sku",
"quantity"}`` creates a tenant and answers ``{"tenant_id", "quantity", "status"}``;
``PUT /v1/subscriptions/{tenant} {"quantity", "status"}`` changes it (404 unknown tenant, 409
once cancelled); ``GET /v1/subscriptions/{tenant}`` shows it. The same key, the same answer.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from litestar import Litestar, Request, get, post, route
from litestar.exceptions import HTTPException
from litestar.response import Response

Mode = Literal["ok", "fail", "timeout", "out_of_stock"]
ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass
class Behaviour:
    mode: Mode = "ok"
    latency_ms: int = 0
    fail_next: int = 0
    timeout_next: int = 0
    hang_seconds: float = 30.0


@dataclass
class Stats:
    requests: int = 0
    sets_issued: int = 0
    keys_issued: int = 0
    repeated: int = 0
    subscriptions_created: int = 0
    subscription_updates: int = 0
    workers: dict[str, int] = field(default_factory=dict)
    last_worker: str | None = None


@dataclass
class StubState:
    behaviour: Behaviour = field(default_factory=Behaviour)
    stats: Stats = field(default_factory=Stats)
    issued: dict[str, tuple[dict[str, Any], list[str]]] = field(default_factory=dict)
    tenants: dict[str, dict[str, Any]] = field(default_factory=dict)
    answers: dict[str, dict[str, Any]] = field(default_factory=dict)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


def vendor_key() -> str:
    return "-".join("".join(secrets.choice(ALPHABET) for _ in range(5)) for _ in range(5))


def create_app(behaviour: Behaviour | None = None) -> Litestar:
    """A fresh stub; its state lives in ``app.state.stub``."""
    state = StubState(behaviour=behaviour or Behaviour())

    @post("/v1/keys", status_code=200)
    async def issue_keys(request: Request[Any, Any, Any], data: dict[str, Any]) -> Response[Any]:
        idempotency_key = request.headers.get("idempotency-key")
        if not idempotency_key:
            raise HTTPException(status_code=400, detail="Idempotency-Key header is required")
        quantity = data.get("quantity")
        if not isinstance(quantity, int) or not 1 <= quantity <= 1000 or not data.get("sku"):
            raise HTTPException(status_code=400, detail="sku and quantity 1..1000 are required")
        worker = request.headers.get("x-esd-worker", "unknown")
        b = state.behaviour
        async with state.lock:
            state.stats.requests += 1
            state.stats.workers[worker] = state.stats.workers.get(worker, 0) + 1
            state.stats.last_worker = worker
            failing = b.fail_next > 0
            if failing:
                b.fail_next -= 1
            losing_answer = not failing and b.timeout_next > 0
            if losing_answer:
                b.timeout_next -= 1
        if b.latency_ms:
            await asyncio.sleep(b.latency_ms / 1000)
        if failing or b.mode == "fail":
            return Response({"error": "unavailable"}, status_code=503)
        if b.mode == "timeout":
            await asyncio.sleep(b.hang_seconds)
            return Response({"error": "too late"}, status_code=504)
        if b.mode == "out_of_stock":
            return Response({"error": "out_of_stock"}, status_code=409)
        body = {"sku": data["sku"], "quantity": quantity}
        async with state.lock:
            known = state.issued.get(idempotency_key)
            if known is not None:
                if known[0] != body:
                    raise HTTPException(status_code=422, detail="idempotency key reused")
                state.stats.repeated += 1
                keys = known[1]
            else:
                keys = [vendor_key() for _ in range(quantity)]
                state.issued[idempotency_key] = (body, keys)
                state.stats.sets_issued += 1
                state.stats.keys_issued += quantity
        if losing_answer:
            await asyncio.sleep(b.hang_seconds)
        return Response({"keys": keys}, status_code=200)

    async def misbehave() -> Response[Any] | None:
        """The shared failure behaviour (mode, fail_next, latency) of a vendor call."""
        b = state.behaviour
        async with state.lock:
            state.stats.requests += 1
            failing = b.fail_next > 0
            if failing:
                b.fail_next -= 1
        if b.latency_ms:
            await asyncio.sleep(b.latency_ms / 1000)
        if failing or b.mode == "fail":
            return Response({"error": "unavailable"}, status_code=503)
        if b.mode == "timeout":
            await asyncio.sleep(b.hang_seconds)
            return Response({"error": "too late"}, status_code=504)
        return None

    def idempotency_key(request: Request[Any, Any, Any]) -> str:
        key = request.headers.get("idempotency-key")
        if not key:
            raise HTTPException(status_code=400, detail="Idempotency-Key header is required")
        return key

    @post("/v1/subscriptions", status_code=200)
    async def create_subscription(
        request: Request[Any, Any, Any], data: dict[str, Any]
    ) -> Response[Any]:
        key = idempotency_key(request)
        quantity = data.get("quantity")
        if not isinstance(quantity, int) or not 1 <= quantity <= 1000 or not data.get("sku"):
            raise HTTPException(status_code=400, detail="sku and quantity 1..1000 are required")
        failed = await misbehave()
        if failed is not None:
            return failed
        async with state.lock:
            if key not in state.answers:
                tenant = f"T-{secrets.token_hex(6).upper()}"
                held = {"tenant_id": tenant, "quantity": quantity, "status": "active"}
                state.tenants[tenant] = held
                state.answers[key] = dict(state.tenants[tenant])
                state.stats.subscriptions_created += 1
            return Response(state.answers[key], status_code=200)

    @route("/v1/subscriptions/{tenant:str}", http_method=["PUT"], status_code=200)
    async def update_subscription(
        request: Request[Any, Any, Any], tenant: str, data: dict[str, Any]
    ) -> Response[Any]:
        key = idempotency_key(request)
        quantity, status = data.get("quantity"), data.get("status")
        if not isinstance(quantity, int) or status not in ("active", "suspended", "cancelled"):
            raise HTTPException(status_code=400, detail="quantity and status are required")
        failed = await misbehave()
        if failed is not None:
            return failed
        async with state.lock:
            if key in state.answers:
                return Response(state.answers[key], status_code=200)
            held = state.tenants.get(tenant)
            if held is None:
                return Response({"error": "unknown_tenant"}, status_code=404)
            if held["status"] == "cancelled":
                return Response({"error": "cancelled"}, status_code=409)
            held.update(quantity=quantity, status=status)
            state.answers[key] = dict(held)
            state.stats.subscription_updates += 1
            return Response(dict(held), status_code=200)

    @get("/v1/subscriptions/{tenant:str}")
    async def show_subscription(tenant: str) -> Response[Any]:
        held = state.tenants.get(tenant)
        if held is None:
            return Response({"error": "unknown_tenant"}, status_code=404)
        return Response(dict(held), status_code=200)

    @get("/control")
    async def show() -> dict[str, Any]:
        return {"behaviour": asdict(state.behaviour), "stats": asdict(state.stats)}

    @post("/control", status_code=200)
    async def control(data: dict[str, Any]) -> dict[str, Any]:
        for name, value in data.items():
            if not hasattr(state.behaviour, name):
                raise HTTPException(status_code=400, detail=f"unknown setting {name}")
            setattr(state.behaviour, name, value)
        return {"behaviour": asdict(state.behaviour), "stats": asdict(state.stats)}

    @post("/control/reset", status_code=200)
    async def reset() -> dict[str, Any]:
        state.behaviour = Behaviour()
        state.stats = Stats()
        state.issued.clear()
        state.tenants.clear()
        state.answers.clear()
        return {"behaviour": asdict(state.behaviour), "stats": asdict(state.stats)}

    @get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok"}

    app = Litestar(
        [
            issue_keys,
            create_subscription,
            update_subscription,
            show_subscription,
            show,
            control,
            reset,
            health,
        ],
        debug=False,
    )
    app.state.stub = state
    return app
