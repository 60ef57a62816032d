"""The gateway's guard rails (gateway.http.hardening): rate limits, size and time limits,
security headers, CORS off, and no stack trace in any answer."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from esd_platform.testing import isolated_settings
from gateway.bootstrap import create_app
from gateway.http import hardening
from gateway.http.hardening import SECURITY_HEADERS, SharedBuckets, TokenBuckets, take_shared
from gateway.service_layer import ordering
from gateway.settings import GatewaySettings
from gateway.testing import in_loop_client
from litestar import Litestar
from sqlalchemy import text

from services.gateway.tests.integration.helpers import OPS, OPS_TOKEN, bearer, onboard

pytestmark = pytest.mark.integration

BURST = 5
MAX_BODY = 64 * 1024
TIMEOUT = 1.5


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@dataclass
class World:
    app: Litestar
    client: httpx.AsyncClient
    clock: FakeClock


@pytest.fixture(scope="module")
async def world() -> AsyncIterator[World]:
    """A gateway with a small request budget, body limit and timeout, on a frozen clock."""
    async with isolated_settings() as settings:
        app = create_app(
            settings,
            GatewaySettings(
                ops_token=OPS_TOKEN,
                query_timeout=2.0,
                rate_limit_per_second=1.0,
                rate_limit_burst=BURST,
                max_request_bytes=MAX_BODY,
                request_timeout=TIMEOUT,
            ),
        )
        clock = FakeClock()
        app.state.rate_limiter.clock = clock
        async with in_loop_client(app) as client:
            yield World(app, client, clock)


async def new_partner(world: World) -> dict[str, Any]:
    world.clock.now += 3600  # the onboarding's anonymous call has its budget back
    return await onboard(world.client)


class TestRateLimits:
    async def test_over_budget_is_429_with_retry_after_per_partner(self, world: World) -> None:
        a, b = await new_partner(world), await new_partner(world)
        client = world.client
        for _ in range(BURST):
            ok = await client.get("/api/v1/orders", headers=bearer(a["api_key"]))
            assert ok.status_code == 200, ok.text
        refused = await client.get("/api/v1/orders", headers=bearer(a["api_key"]))
        assert refused.status_code == 429
        assert refused.headers["content-type"].startswith("application/problem+json")
        assert refused.json()["code"] == "rate_limited"
        assert refused.json()["status"] == 429
        assert int(refused.headers["Retry-After"]) >= 1
        # another partner has its own budget
        other = await client.get("/api/v1/orders", headers=bearer(b["api_key"]))
        assert other.status_code == 200, other.text
        # ops is not limited
        assert (await client.get("/api/v1/admin/applications", headers=OPS)).status_code == 200

    async def test_keys_of_one_partner_share_its_budget(self, world: World) -> None:
        a = await new_partner(world)
        client = world.client
        issued = await client.post(
            f"/api/v1/admin/partners/{a['partner_id']}/api-keys", headers=OPS
        )
        assert issued.status_code in {200, 201}, issued.text
        second_key = issued.json()["api_key"]
        for key in [a["api_key"], second_key] * 3:
            last = await client.get("/api/v1/orders", headers=bearer(key))
        assert last.status_code == 429
        assert last.json()["code"] == "rate_limited"

    async def test_the_budget_refills_with_time(self, world: World) -> None:
        a = await new_partner(world)
        client = world.client
        for _ in range(BURST + 1):
            last = await client.get("/api/v1/orders", headers=bearer(a["api_key"]))
        assert last.status_code == 429
        wait = int(last.headers["Retry-After"])
        world.clock.now += wait
        again = await client.get("/api/v1/orders", headers=bearer(a["api_key"]))
        assert again.status_code == 200, again.text

    async def test_an_xml_caller_gets_problem_xml(self, world: World) -> None:
        a = await new_partner(world)
        headers = bearer(a["api_key"]) | {"Accept": "application/xml"}
        for _ in range(BURST + 1):
            last = await world.client.get("/api/v1/orders", headers=headers)
        assert last.status_code == 429
        assert last.headers["content-type"].startswith("application/problem+xml")
        assert "<code>rate_limited</code>" in last.text
        assert "Retry-After" in last.headers

    async def test_health_is_never_limited(self, world: World) -> None:
        for _ in range(BURST * 3):
            assert (await world.client.get("/health")).status_code == 200


class TestTokenBuckets:
    def test_burst_then_rate(self) -> None:
        clock = FakeClock()
        buckets = TokenBuckets(rate=2.0, burst=3, clock=clock)
        assert [buckets.take("p") for _ in range(3)] == [0.0, 0.0, 0.0]
        assert buckets.take("p") == pytest.approx(0.5)
        clock.now += 0.5
        assert buckets.take("p") == 0.0
        assert buckets.take("q") == 0.0  # keys are apart
        clock.now += 100
        assert [buckets.take("p") for _ in range(3)] == [0.0, 0.0, 0.0]  # never above burst
        assert buckets.take("p") > 0

    def test_bounded_number_of_keys(self) -> None:
        buckets = TokenBuckets(rate=1.0, burst=1, clock=FakeClock(), max_keys=10)
        for i in range(100):
            buckets.take(str(i))
        assert len(buckets._buckets) == 10


class TestSizeLimits:
    async def test_a_declared_oversized_body_is_413(self, world: World) -> None:
        a = await new_partner(world)
        body = b'{"external_id": "' + b"x" * (MAX_BODY + 10) + b'"}'
        response = await world.client.post(
            "/api/v1/orders",
            content=body,
            headers=bearer(a["api_key"]) | {"Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")
        assert response.json()["code"] == "validation_error"

    async def test_a_chunked_oversized_body_is_413(self, world: World) -> None:
        a = await new_partner(world)

        async def chunks() -> AsyncIterator[bytes]:
            yield b'{"external_id": "'
            for _ in range(4):
                yield b"x" * (MAX_BODY // 2)
            yield b'"}'

        response = await world.client.post(
            "/api/v1/orders",
            content=chunks(),
            headers=bearer(a["api_key"]) | {"Content-Type": "application/json"},
        )
        assert response.status_code == 413
        assert response.json()["code"] == "validation_error"


class TestHeaders:
    @pytest.mark.parametrize(
        ("path", "status"),
        [("/api/v1/orders", 200), ("/api/v1/no-such", 404), ("/health", 200)],
    )
    async def test_security_headers_on_every_answer(
        self, world: World, path: str, status: int
    ) -> None:
        a = await new_partner(world)
        response = await world.client.get(path, headers=bearer(a["api_key"]))
        assert response.status_code == status
        for name, value in SECURITY_HEADERS.items():
            assert response.headers[name] == value
        if path.startswith("/api/"):
            assert response.headers["Cache-Control"] == "no-store"

    async def test_unauthorized_answers_carry_them_too(self, world: World) -> None:
        response = await world.client.get("/api/v1/orders")
        assert response.status_code == 401
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["Cache-Control"] == "no-store"

    async def test_cors_is_off_by_default(self, world: World) -> None:
        a = await new_partner(world)
        origin = {"Origin": "https://evil.example"}
        preflight = await world.client.options(
            "/api/v1/orders",
            headers=origin
            | {
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "authorization",
            },
        )
        assert "access-control-allow-origin" not in preflight.headers
        simple = await world.client.get("/api/v1/orders", headers=origin | bearer(a["api_key"]))
        assert simple.status_code == 200
        assert "access-control-allow-origin" not in simple.headers
        assert "access-control-allow-credentials" not in simple.headers


SECRET_TEXT = "boom at /srv/esd/secret_module.py line 42: password=hunter2"


class TestNoStackTrace:
    @pytest.mark.parametrize("accept", ["application/json", "application/xml"])
    async def test_an_internal_error_is_a_bare_500_problem(
        self, world: World, monkeypatch: pytest.MonkeyPatch, accept: str
    ) -> None:
        a = await new_partner(world)

        async def broken(*_: Any, **__: Any) -> Any:
            raise RuntimeError(SECRET_TEXT)

        monkeypatch.setattr(ordering, "read_order", broken)
        response = await world.client.get(
            f"/api/v1/orders/{uuid.uuid4()}", headers=bearer(a["api_key"]) | {"Accept": accept}
        )
        assert response.status_code == 500
        expected = (
            "application/problem+json" if accept.endswith("json") else "application/problem+xml"
        )
        assert response.headers["content-type"].startswith(expected)
        for leak in ("Traceback", "RuntimeError", "boom", "secret_module", ".py", "hunter2"):
            assert leak not in response.text
        assert "internal_error" in response.text
        assert response.headers["X-Content-Type-Options"] == "nosniff"


class TestTimeouts:
    async def test_a_request_that_hangs_is_503_after_the_timeout(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        a = await new_partner(world)

        async def hanging(*_: Any, **__: Any) -> Any:
            await asyncio.sleep(30)

        monkeypatch.setattr(ordering, "read_order", hanging)
        started = time.monotonic()
        response = await world.client.get(
            f"/api/v1/orders/{uuid.uuid4()}", headers=bearer(a["api_key"])
        )
        elapsed = time.monotonic() - started
        assert response.status_code == 503
        assert response.json()["code"] == "service_unavailable"
        assert response.headers["Retry-After"] == "1"
        assert TIMEOUT - 0.1 <= elapsed < TIMEOUT + 3


class TestCorsWhenConfigured:
    def test_only_the_configured_origins(self) -> None:
        app = create_app(None, GatewaySettings(cors_origins=["https://shop.example"]))
        assert app.cors_config is not None
        assert app.cors_config.allow_origins == ["https://shop.example"]
        assert not app.cors_config.allow_credentials
        assert create_app(None, GatewaySettings()).cors_config is None


class TestSharedBuckets:
    """Buckets in PostgreSQL, as several workers use them (rate_limit_store=postgres)."""

    async def test_workers_share_one_budget(self, world: World) -> None:
        engine = world.app.state.gateway.service.engine
        key = f"partner:{uuid.uuid4()}"
        # 20 requests at once, as if from several workers: exactly the burst gets through
        waits = await asyncio.gather(
            *(take_shared(engine, key, rate=0.01, burst=BURST) for _ in range(20))
        )
        assert sum(1 for w in waits if w == 0) == BURST
        assert all(w > 1 for w in waits if w > 0)
        # refused requests do not dig the hole deeper: the wait stays one token's worth
        assert await take_shared(engine, key, rate=0.01, burst=BURST) <= 100
        assert await take_shared(engine, f"partner:{uuid.uuid4()}", rate=0.01, burst=BURST) == 0

    async def test_refills_with_time(self, world: World) -> None:
        engine = world.app.state.gateway.service.engine
        key = f"partner:{uuid.uuid4()}"
        assert await take_shared(engine, key, rate=20.0, burst=1) == 0
        assert await take_shared(engine, key, rate=20.0, burst=1) > 0
        await asyncio.sleep(0.1)
        assert await take_shared(engine, key, rate=20.0, burst=1) == 0

    async def test_workers_lease_a_few_tokens_per_round_trip_never_more_than_the_bucket(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        engine = world.app.state.gateway.service.engine
        key = f"partner:{uuid.uuid4()}"
        trips = 0
        real = hardening.take_tokens

        async def counted(*args: Any, **kwargs: Any) -> tuple[int, float]:
            nonlocal trips
            trips += 1
            return await real(*args, **kwargs)

        monkeypatch.setattr(hardening, "take_tokens", counted)
        workers = (SharedBuckets(), SharedBuckets())  # two processes sharing one bucket
        loop = asyncio.get_running_loop()
        started = loop.time()
        waits = [await workers[i % 2].take(engine, key, rate=100.0, burst=40) for i in range(30)]
        assert all(w == 0 for w in waits)
        assert trips <= 10  # tokens come five per round trip, not one
        waits += [await workers[i % 2].take(engine, key, rate=100.0, burst=40) for i in range(50)]
        elapsed = loop.time() - started
        admitted = sum(1 for w in waits if w == 0)
        assert 40 <= admitted <= 40 + 100 * elapsed + 1  # the burst, and only what refilled
        assert any(w > 0 for w in waits)

    async def test_a_small_budget_is_still_exact_across_workers(self, world: World) -> None:
        engine = world.app.state.gateway.service.engine
        key = f"partner:{uuid.uuid4()}"
        workers = (SharedBuckets(), SharedBuckets())
        waits = [await workers[i % 2].take(engine, key, rate=3 / 60, burst=3) for i in range(6)]
        assert [w == 0 for w in waits] == [True, True, True, False, False, False]

    async def test_the_middleware_uses_them_when_configured(
        self, world: World, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        a = await new_partner(world)
        settings = world.app.state.gateway.settings
        monkeypatch.setattr(settings, "rate_limit_store", "postgres")
        monkeypatch.setattr(settings, "rate_limit_per_second", 0.01)
        for _ in range(BURST):
            ok = await world.client.get("/api/v1/orders", headers=bearer(a["api_key"]))
            assert ok.status_code == 200, ok.text
        refused = await world.client.get("/api/v1/orders", headers=bearer(a["api_key"]))
        assert refused.status_code == 429
        assert refused.json()["code"] == "rate_limited"
        # the partner's bucket is the shared row, not the process's
        taken = await scalar_of(
            world, f"SELECT taken FROM rate_buckets WHERE key = 'partner:{a['partner_id']}'"
        )
        assert taken is False


async def scalar_of(world: World, sql: str) -> Any:
    async with world.app.state.gateway.service.engine.connect() as conn:
        return (await conn.execute(text(sql))).scalar()
