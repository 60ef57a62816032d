"""``esd run`` (``make run``): every service as its own process plus the gateway, supervised.

Before starting anything it checks that PostgreSQL and RabbitMQ answer at ESD_DATABASE_URL /
ESD_AMQP_URL. Where PostgreSQL does not, an embedded one (the ``pgserver`` package) is started
in ``var/pgdata``; where RabbitMQ does not, every service runs in this one process on
FastStream's in-memory broker (:mod:`esd_cli.embedded`). Either is said in one line.
After the gateway is ready it creates (or re-keys) the demo partner and prints the gateway URL,
the ops token and the demo partner's API key; on the first run it also stocks the demo
catalog's pool products with demo keys. A child that dies is restarted.
"""

from __future__ import annotations

import asyncio
import json
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import aio_pika
import asyncpg
import httpx
from esd_platform.db import admin_connect_args
from esd_platform.logging import configure_logging
from esd_platform.settings import PlatformSettings

from esd_cli.services import BACKEND

ROOT = Path(__file__).resolve().parents[3]
VAR = ROOT / "var"
DEMO_FILE = VAR / "demo-partner.json"
TOKEN_FILE = VAR / "ops-token"
DEMO_APPLICATION = {
    "company_name": "ООО «Демо Софт»",
    "inn": "7707083893",
    "kpp": "773601001",
    "email": "demo@example.ru",
    "region": "Москва",
}


def say(line: str) -> None:
    print(f"esd: {line}", flush=True)  # noqa: T201 - the launcher talks to a person


async def _postgres_up(settings: PlatformSettings) -> bool:
    try:
        conn = await asyncpg.connect(**admin_connect_args(settings), timeout=3)
    except (OSError, asyncpg.PostgresError, TimeoutError):
        return False
    await conn.close()
    return True


async def _rabbit_up(settings: PlatformSettings) -> bool:
    try:
        conn = await asyncio.wait_for(aio_pika.connect(settings.amqp_url), 5)
    except Exception:
        return False
    await conn.close()
    return True


def _embedded_postgres(env: dict[str, str]) -> object:
    try:
        import pgserver
    except ImportError as exc:  # pragma: no cover - depends on the machine
        raise SystemExit(
            "esd: no PostgreSQL at ESD_DATABASE_URL and the embedded one is not installed "
            "(uv sync --extra embedded)"
        ) from exc
    server = pgserver.get_server(  # type: ignore[attr-defined]
        str(VAR / "pgdata"), cleanup_mode="stop"
    )
    uri = server.get_uri()
    base, _, query = uri.partition("?")
    env["ESD_DATABASE_URL"] = base.rsplit("/", 1)[0] + "/esd" + (f"?{query}" if query else "")
    say(f"no PostgreSQL reachable: started an embedded one (pgserver) in {VAR / 'pgdata'}")
    return server


def _ops_token(env: dict[str, str]) -> str:
    token = env.get("ESD_OPS_TOKEN")
    if not token:
        VAR.mkdir(exist_ok=True)
        if TOKEN_FILE.exists():
            token = TOKEN_FILE.read_text().strip()
        else:
            token = "ops-" + secrets.token_urlsafe(24)
            TOKEN_FILE.write_text(token)
            TOKEN_FILE.chmod(0o600)
        env["ESD_OPS_TOKEN"] = token
    return token


def _seed_demo_partner(base: str, ops_token: str) -> tuple[str, str]:
    """Create the demo partner through the public API, or give the existing one a new key."""
    ops = {"Authorization": f"Bearer {ops_token}"}
    with httpx.Client(base_url=base, timeout=30) as http:
        if DEMO_FILE.exists():
            partner_id = json.loads(DEMO_FILE.read_text())["partner_id"]
            answer = http.post(f"/api/v1/admin/partners/{partner_id}/api-keys", headers=ops)
            if answer.status_code in (200, 201):
                return partner_id, answer.json()["api_key"]
        application = http.post("/api/v1/applications", json=DEMO_APPLICATION)
        application.raise_for_status()
        app_id = application.json()["application_id"]
        approved = http.post(f"/api/v1/admin/applications/{app_id}/approve", headers=ops)
        approved.raise_for_status()
        partner = approved.json()
        contract = {"number": "DEMO-1", "date": "2026-01-01"}  # go-live needs a signed contract
        http.post(
            f"/api/v1/admin/partners/{partner['partner_id']}/contract-signed",
            json=contract,
            headers=ops,
        )
        http.post(f"/api/v1/admin/partners/{partner['partner_id']}/go-live", headers=ops)
        DEMO_FILE.write_text(json.dumps({"partner_id": partner["partner_id"]}))
        return partner["partner_id"], partner["api_key"]


def _wait_ready(base: str, deadline: float) -> bool:
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/ready", timeout=2).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


def demo_skus(limit: int = 5) -> list[str]:
    """SKUs of the demo catalog an order ships at once: keys from the generator (the demo's
    pools are stocked only after the order to paste is printed), no required field, well
    within the default credit line. Taken from the compact demo catalog, which the whole one
    contains, so that they are there whichever size the catalog seeded
    (``ESD_CATALOG_DEMO_SIZE``)."""
    from catalog.domain.demo_catalog import build_demo_catalog

    return [
        p.sku
        for p in build_demo_catalog(compact=True).products
        if p.kind == "key"
        and p.key_source == "generator"
        and p.active
        and not p.required_fields
        and p.base_price < 5000
    ][:limit]


def _orderable_sku(base: str, api_key: str, seconds: float = 20) -> str | None:
    """The first of :func:`demo_skus` the partner's catalog holds (a deployment may hold
    another catalog; the gateway's replica may still be filling after the first start)."""
    headers = {"Authorization": f"Bearer {api_key}"}
    candidates = demo_skus()
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base, timeout=10) as http:
        while True:
            for sku in candidates:
                answer = http.get(f"/api/v1/catalog/products/{sku}", headers=headers)
                if answer.status_code == 200 and answer.json().get("active"):
                    return sku
            if time.monotonic() > deadline:
                return None
            time.sleep(1.0)


DEMO_POOL_KEYS = 20
"""Demo keys each of the demo catalog's pool products gets on the first run."""


def stock_demo_pools(
    base: str,
    token: str,
    keys_each: int = DEMO_POOL_KEYS,
    stopping: Callable[[], bool] = lambda: False,
) -> int:
    """Load ``keys_each`` demo keys into every pool product of the demo catalog that has never
    held one, until ``stopping()`` (the launcher asked to stop); returns how many pools it
    loaded.

    A real pool starts empty until ops load the vendor's file (``esd load-pool``), and so did
    the demo's 514 pool products, so a demo order for one was ``out_of_stock``. A pool that
    has keys, or has issued any, is left alone, so the demo's own keys are loaded once and a
    pool ops loaded is never topped up with made-up keys. Skus the catalog does not hold (a
    catalog seeded compact, or another catalog) are skipped."""
    from catalog.domain.demo_catalog import build_demo_catalog

    ops = {"Authorization": f"Bearer {token}"}
    loaded = 0
    with httpx.Client(base_url=base, timeout=30) as http:
        stock = http.get("/api/v1/admin/keys/stock", headers=ops)
        stock.raise_for_status()
        used = {
            item["sku"] for item in stock.json()["items"] if item["available"] or item["issued"]
        }
        for product in build_demo_catalog().products:
            if stopping():
                break
            if product.key_source != "pool" or product.sku in used:
                continue
            keys = [f"DEMO-{secrets.token_hex(8).upper()}" for _ in range(keys_each)]
            answer = http.post(
                f"/api/v1/admin/keys/{product.sku}/pool", json={"keys": keys}, headers=ops
            )
            if answer.status_code == 422:  # not in this catalog
                continue
            answer.raise_for_status()
            loaded += bool(answer.json()["loaded"])
    return loaded


def _announce(base: str, token: str, stopping: Callable[[], bool] = lambda: False) -> None:
    partner_id, api_key = _seed_demo_partner(base, token)
    sku = _orderable_sku(base, api_key) or "<a sku from /api/v1/catalog/products>"
    say(f"gateway      {base}   (OpenAPI {base}/schema)")
    say(f"ops token    {token}")
    say(f"demo partner {partner_id}   API key {api_key}")
    say(
        f'try: curl -s -X POST "{base}/api/v1/orders?wait=5" -H "Authorization: Bearer '
        f'{api_key}" -H "Content-Type: application/json" -d \'{{"external_id": "demo-1", '
        f'"sku": "{sku}", "quantity": 1}}\''
    )
    try:
        pools = stock_demo_pools(base, token, stopping=stopping)
    except httpx.HTTPError as exc:
        if not stopping():
            say(f"the demo pools were not stocked ({exc}); esd load-pool loads a pool's keys")
    else:
        if pools:
            say(f"stocked {pools} demo pool products with {DEMO_POOL_KEYS} demo keys each")


def _run_in_process(env: dict[str, str], base: str, token: str) -> int:
    from esd_cli import embedded

    os.environ.update(env)  # the settings below read the same ESD_* the processes would
    settings = PlatformSettings()

    async def when_ready() -> None:
        if await asyncio.to_thread(_wait_ready, base, time.monotonic() + 90):
            await asyncio.to_thread(_announce, base, token)
        else:
            say("the gateway did not become ready in 90 s; see the logs above")

    configure_logging("esd", settings.log_level)
    asyncio.run(embedded.serve(settings, when_ready=when_ready))
    return 0


def _vendor_stub(env: dict[str, str]) -> subprocess.Popen[bytes] | None:
    """With no vendor API configured (ESD_VENDOR_API_URL), the local vendor stub plays every
    vendor, so the demo catalog's vendor-API products deliver keys in this run too."""
    if env.get("ESD_VENDOR_API_URL") or env.get("ESD_VENDOR_API_URLS"):
        return None
    port = env.get("ESD_VENDOR_STUB_PORT", "8099")
    env["ESD_VENDOR_API_URL"] = f"http://127.0.0.1:{port}"
    say(f"vendor API: the local stub (deploy/vendor_stub) at {env['ESD_VENDOR_API_URL']}")
    command = [sys.executable, "-m", "deploy.vendor_stub", "--port", port]
    return subprocess.Popen(command, env=env, cwd=ROOT)  # noqa: S603


def run_platform(keys_workers: int = 1, together: bool = False) -> int:
    env = dict(os.environ)
    settings = PlatformSettings()
    VAR.mkdir(exist_ok=True)
    embedded = None
    if not asyncio.run(_postgres_up(settings)):
        embedded = _embedded_postgres(env)
    stub = _vendor_stub(env)
    try:
        return _run(env, settings, embedded, keys_workers, together)
    finally:
        if stub is not None:
            stub.terminate()
            stub.wait(timeout=10)


def backend_commands(keys_workers: int = 1, together: bool = False) -> list[list[str]]:
    """A process per back-end service (and per extra keys worker), or all of them in one
    process (``esd services ...``) plus the extra keys workers."""
    if together:
        extra = [[sys.executable, "-m", "keys"]] * (keys_workers - 1)
        return [[sys.executable, "-m", "esd_cli", "services", *BACKEND], *extra]
    commands: list[list[str]] = []
    for name in BACKEND:
        copies = keys_workers if name == "keys" else 1
        commands.extend([[sys.executable, "-m", name]] * copies)
    return commands


def _run(
    env: dict[str, str],
    settings: PlatformSettings,
    embedded: object,
    keys_workers: int,
    together: bool = False,
) -> int:
    token = _ops_token(env)
    port = env.setdefault("ESD_GATEWAY_PORT", "8080")
    base = f"http://127.0.0.1:{port}"
    env.setdefault("ESD_PUBLIC_BASE_URL", base)  # download links partners can follow as given
    if not asyncio.run(_rabbit_up(settings)):
        say(
            f"no RabbitMQ reachable at {settings.amqp_url}: running every service in this "
            "process on FastStream's in-memory broker"
        )
        try:
            return _run_in_process(env, base, token)
        finally:
            if embedded is not None:
                embedded.cleanup()  # type: ignore[attr-defined]

    commands = backend_commands(keys_workers, together)
    commands.append([sys.executable, "-m", "gateway"])
    children = [subprocess.Popen(cmd, env=env) for cmd in commands]  # noqa: S603

    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    if not _wait_ready(base, time.monotonic() + 90):
        say("the gateway did not become ready in 90 s; see the logs above")
    else:
        _announce(base, token, lambda: stopping)

    while not stopping:
        for index, child in enumerate(children):
            if child.poll() is not None and not stopping:
                say(f"{' '.join(commands[index][1:])} exited ({child.returncode}); restarting")
                children[index] = subprocess.Popen(commands[index], env=env)  # noqa: S603
        time.sleep(0.5)

    for child in children:
        child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
    if embedded is not None:
        embedded.cleanup()  # type: ignore[attr-defined]
    return 0
