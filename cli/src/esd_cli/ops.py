"""Operations commands of ``esd``: each speaks the platform's own interfaces.

- through the gateway's ops API (``ESD_GATEWAY_URL``, bearer ``ESD_OPS_TOKEN``): ``seed``,
  ``applications``, ``approve``, ``load-pool``;
- request/reply over the bus (``ESD_AMQP_URL``), as the gateway asks services:
  ``bank-statement`` (credit), ``replay-finance`` (billing);
- on RabbitMQ itself: ``dlq list|show|retry`` (the dead-letter queues named by
  ``esd_contracts.topology``);
- read-only from the orders schema (``ESD_DATABASE_URL``): ``saga`` (an order's saga history);
- offline: ``ops-token`` (a new random ops token to put in ``ESD_OPS_TOKEN``).

Every command prints JSON on stdout and exits non-zero on failure (2: refused input, 1: the
platform answered an error or could not be reached).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import secrets
import sys
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
from esd_contracts.billing.commands import FinanceEventsReplayed, ReplayFinanceEvents
from esd_contracts.credit.commands import PostBankStatement
from esd_contracts.credit.queries import PaymentsPosted
from esd_contracts.envelope import Query
from esd_contracts.topology import ROUTES
from esd_platform.settings import PlatformSettings
from pydantic import BaseModel

Reply = TypeVar("Reply", bound=BaseModel)

DEFAULT_GATEWAY_URL = "http://127.0.0.1:8080"
DEMO_APPLICATION = {
    "company_name": "ООО «Демо Софт»",
    "inn": "7707083893",
    "kpp": "773601001",
    "email": "demo@example.ru",
    "region": "Москва",
}


class OpsError(Exception):
    """A command failed; ``code`` is the process exit status."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


# -- gateway (HTTP) -----------------------------------------------------------------------------


def _ops(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _answer(response: httpx.Response) -> Any:
    """The JSON body of a success; the problem's code and detail as an OpsError otherwise."""
    if response.is_success:
        return response.json() if response.content else None
    try:
        problem = response.json()
        detail = f"{problem.get('code', '')}: {problem.get('detail', '')}"
    except ValueError:
        detail = response.text[:300]
    raise OpsError(
        f"{response.request.method} {response.request.url.path} → {response.status_code} {detail}"
    )


async def list_applications(
    http: httpx.AsyncClient, token: str, status: str | None = "pending"
) -> Any:
    params = {"status": status} if status else {}
    return _answer(await http.get("/api/v1/admin/applications", params=params, headers=_ops(token)))


async def approve(
    http: httpx.AsyncClient,
    token: str,
    application_id: uuid.UUID,
    *,
    go_live: bool = False,
    limit: str | None = None,
    term_days: int | None = None,
) -> dict[str, Any]:
    """Approve an application (the partner, its API key and webhook secret, shown once); then
    optionally set its credit terms and take it out of test mode."""
    approved: dict[str, Any] = _answer(
        await http.post(f"/api/v1/admin/applications/{application_id}/approve", headers=_ops(token))
    )
    partner_id = approved["partner_id"]
    if limit is not None or term_days is not None:
        if limit is None or term_days is None:
            raise OpsError("--limit and --term-days go together", 2)
        approved["credit"] = _answer(
            await http.put(
                f"/api/v1/admin/partners/{partner_id}/credit",
                json={"limit": limit, "term_days": term_days},
                headers=_ops(token),
            )
        )
    if go_live:
        _answer(  # go-live needs the contract recorded as signed
            await http.post(
                f"/api/v1/admin/partners/{partner_id}/contract-signed",
                json={"number": f"CLI-{approved['reseller_id']}", "date": "2026-01-01"},
                headers=_ops(token),
            )
        )
        approved["partner"] = _answer(
            await http.post(f"/api/v1/admin/partners/{partner_id}/go-live", headers=_ops(token))
        )
    return approved


async def seed(
    http: httpx.AsyncClient, token: str, application: dict[str, Any] | None = None
) -> dict[str, Any]:
    """A live demo partner through the public API: apply, approve, go live. The demo catalog
    itself is written by the catalog service at its first start (ESD_CATALOG_SEED_DEMO)."""
    created = _answer(await http.post("/api/v1/applications", json=application or DEMO_APPLICATION))
    approved = await approve(http, token, uuid.UUID(created["application_id"]), go_live=True)
    return {
        "partner_id": approved["partner_id"],
        "reseller_id": approved.get("reseller_id"),
        "api_key": approved["api_key"],
        "webhook_secret": approved.get("webhook_secret"),
        "live": approved.get("partner", {}).get("live", False),
    }


async def load_pool(
    http: httpx.AsyncClient,
    token: str,
    sku: str,
    content: bytes,
    low_threshold: int | None = None,
) -> Any:
    """Load a file of keys (one a line) into a pool product; the gateway reports refusals."""
    if low_threshold is None:
        body, content_type = content, "text/plain; charset=utf-8"
    else:
        keys = [line.strip() for line in content.decode("utf-8-sig").splitlines() if line.strip()]
        body = json.dumps({"keys": keys, "low_threshold": low_threshold}).encode()
        content_type = "application/json"
    return _answer(
        await http.post(
            f"/api/v1/admin/keys/{sku}/pool",
            content=body,
            headers={**_ops(token), "Content-Type": content_type},
        )
    )


# -- the bus (request/reply) --------------------------------------------------------------------


def _meta() -> dict[str, Any]:
    return {"correlation_id": uuid.uuid4(), "occurred_at": datetime.now(UTC)}


async def ask(settings: PlatformSettings, query: Query, answer: type[Reply], wait: float) -> Reply:
    """Request/reply over RabbitMQ's direct reply-to, as the gateway asks a service."""
    from esd_platform.messaging import topic_exchange
    from faststream.rabbit import RabbitBroker

    broker = RabbitBroker(settings.amqp_url, logger=None)
    await broker.connect()
    try:
        reply = await broker.request(
            query.model_dump_json().encode(),
            exchange=topic_exchange(query.exchange_name()),
            routing_key=query.message_type(),
            timeout=wait,
            content_type="application/json",
            **query.envelope(),
        )
    except TimeoutError as exc:
        raise OpsError(f"{query.CONTEXT} did not answer {type(query).__name__} in {wait}s") from exc
    except Exception as exc:  # e.g. no such exchange: the platform never started on this vhost
        causes: list[str] = []
        cause: BaseException | None = exc
        while cause is not None and len(causes) < 4:  # the broker's reason is deepest
            causes.append(str(cause))
            cause = cause.__cause__ or cause.__context__
        reason = "; ".join(reversed(causes))
        raise OpsError(f"asking {query.CONTEXT} {type(query).__name__} failed: {reason}") from exc
    finally:
        await broker.stop()
    return answer.model_validate_json(reply.body)


async def post_bank_statement(
    settings: PlatformSettings, content: bytes, filename: str | None = None, wait: float = 60
) -> Any:
    """Post a 1C bank statement (1CClientBankExchange); idempotent, so a timed-out run may
    simply be repeated."""
    query = PostBankStatement(
        **_meta(), content_base64=base64.b64encode(content).decode(), filename=filename
    )
    return (await ask(settings, query, PaymentsPosted, wait)).model_dump(mode="json")


async def replay_finance(
    settings: PlatformSettings,
    date_from: date,
    date_to: date,
    number: str | None = None,
    partner_id: uuid.UUID | None = None,
    wait: float = 120,
) -> Any:
    """Re-emit billing's finance events (DocumentLineAdded, DocumentClosed) for a period."""
    query = ReplayFinanceEvents(
        **_meta(), date_from=date_from, date_to=date_to, number=number, partner_id=partner_id
    )
    return (await ask(settings, query, FinanceEventsReplayed, wait)).model_dump(mode="json")


# -- dead-lettered messages ---------------------------------------------------------------------


def dead_letter_queues() -> dict[str, str]:
    """``<queue>.dlq`` → ``<queue>``, for every route of the topology."""
    return {r.dead_letter_queue: r.queue for r in ROUTES}


def _origin(dlq: str) -> str:
    queues = dead_letter_queues()
    if dlq not in queues:
        raise OpsError(f"{dlq} is not a dead-letter queue of esd (see `esd dlq list --all`)", 2)
    return queues[dlq]


async def _connect(settings: PlatformSettings) -> Any:
    import aio_pika

    return await aio_pika.connect(settings.amqp_url)


async def dlq_list(settings: PlatformSettings, *, everything: bool = False) -> list[dict[str, Any]]:
    """Each dead-letter queue with its message count (only non-empty ones unless everything)."""
    import aio_pika

    found = []
    connection = await _connect(settings)
    try:
        for dlq, origin in dead_letter_queues().items():
            channel = await connection.channel()
            try:
                declared = await channel.declare_queue(dlq, passive=True)
            except aio_pika.exceptions.ChannelClosed:
                count = None  # not declared yet: no service has started
            else:
                count = declared.declaration_result.message_count
                await channel.close()
            if everything or count:
                found.append({"queue": dlq, "origin": origin, "messages": count})
    finally:
        await connection.close()
    return found


def _describe(message: Any) -> dict[str, Any]:
    headers = dict(message.headers or {})
    deaths = headers.get("x-death") or []
    first = deaths[0] if deaths else {}
    try:
        body: Any = json.loads(message.body)
    except ValueError:
        body = message.body.decode("utf-8", "replace")
    return {
        "message_id": message.message_id,
        "correlation_id": message.correlation_id,
        "type": message.type,
        "reason": str(first.get("reason", "")) or None,
        "deaths": int(first.get("count", 0)) if first else None,
        "first_death_queue": _text(headers.get("x-first-death-queue")),
        "delivery_count": headers.get("x-delivery-count"),
        "body": body,
    }


def _text(value: Any) -> str | None:
    if value is None:
        return None
    return value.decode() if isinstance(value, bytes) else str(value)


async def dlq_show(settings: PlatformSettings, dlq: str, limit: int = 10) -> list[dict[str, Any]]:
    """Look at up to ``limit`` dead letters without taking them: every message fetched is
    returned to its queue when the channel closes unacknowledged."""
    _origin(dlq)
    shown = []
    connection = await _connect(settings)
    try:
        channel = await connection.channel()
        queue = await channel.declare_queue(dlq, passive=True)
        for _ in range(limit):
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            shown.append(_describe(message))
        await channel.close()  # unacked: all of them go back to the DLQ
    finally:
        await connection.close()
    return shown


async def dlq_retry(
    settings: PlatformSettings,
    dlq: str,
    *,
    limit: int | None = None,
    message_id: str | None = None,
) -> dict[str, Any]:
    """Move dead letters back to the queue they died in, for its consumer alone (the default
    exchange routes by queue name, so other consumers of the same event see nothing).

    Each message is published persistent and mandatory with a publisher confirm before its dead
    letter is acked: a crash in between delivers it twice, which the consumer's inbox absorbs.
    ``message_id``: only that message (the others stay); ``limit``: at most that many.
    """
    import aio_pika

    origin = _origin(dlq)
    moved: list[str | None] = []
    skipped = 0
    connection = await _connect(settings)
    try:
        channel = await connection.channel(publisher_confirms=True)
        queue = await channel.declare_queue(dlq, passive=True)
        await channel.declare_queue(origin, passive=True)
        total = queue.declaration_result.message_count or 0
        for _ in range(total):
            if limit is not None and len(moved) >= limit:
                break
            message = await queue.get(no_ack=False, fail=False)
            if message is None:
                break
            if message_id is not None and message.message_id != message_id:
                skipped += 1
                continue  # left unacked: back in the DLQ when the channel closes
            headers = {
                k: v
                for k, v in (message.headers or {}).items()
                if not k.startswith(("x-death", "x-first-death", "x-last-death", "x-delivery"))
            }
            headers["x-esd-retried-from"] = dlq
            await channel.default_exchange.publish(
                aio_pika.Message(
                    message.body,
                    headers=headers,
                    content_type=message.content_type,
                    content_encoding=message.content_encoding,
                    delivery_mode=aio_pika.DeliveryMode.PERSISTENT,
                    message_id=message.message_id,
                    correlation_id=message.correlation_id,
                    type=message.type,
                    timestamp=message.timestamp,
                ),
                routing_key=origin,
                mandatory=True,
            )
            await message.ack()
            moved.append(message.message_id)
        await channel.close()
    finally:
        await connection.close()
    return {"queue": dlq, "to": origin, "moved": len(moved), "message_ids": moved, "left": skipped}


# -- saga history (read-only, the orders schema) -------------------------------------------------


async def saga_history(settings: PlatformSettings, order_id: uuid.UUID) -> dict[str, Any]:
    """An order's saga: its current state and every persisted transition, with its cause."""
    import asyncpg
    from sqlalchemy.engine import make_url

    url = make_url(settings.sqlalchemy_url)
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        saga = await connection.fetchrow("SELECT * FROM orders.sagas WHERE order_id = $1", order_id)
        if saga is None:
            raise OpsError(f"no saga of order {order_id}", 2)
        steps = await connection.fetch(
            "SELECT version, state, cause, at FROM orders.saga_history "
            "WHERE order_id = $1 ORDER BY version",
            order_id,
        )
    finally:
        await connection.close()
    current = {k: _json_value(v) for k, v in dict(saga).items() if k != "fields"}
    return {
        "order_id": str(order_id),
        "saga": current,
        "history": [{k: _json_value(v) for k, v in dict(step).items()} for step in steps],
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, int | float | str | bool | type(None) | list | dict):
        return value
    return str(value)


# -- ops token ----------------------------------------------------------------------------------


def _write_secret(path: Path, token: str) -> None:
    path.touch(mode=0o600)
    path.chmod(0o600)
    path.write_text(token + "\n")


def new_ops_token(nbytes: int = 32) -> str:
    """A fresh ops bearer token; the gateway accepts the one in its ESD_OPS_TOKEN."""
    return "ops-" + secrets.token_urlsafe(nbytes)


# -- command line -------------------------------------------------------------------------------


def add_commands(commands: Any) -> None:
    """Register the operations subcommands on ``esd``'s subparsers."""

    def gateway_options(parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "--gateway",
            default=os.environ.get("ESD_GATEWAY_URL", DEFAULT_GATEWAY_URL),
            help="gateway base URL (ESD_GATEWAY_URL)",
        )
        parser.add_argument(
            "--token",
            default=os.environ.get("ESD_OPS_TOKEN"),
            help="ops bearer token (ESD_OPS_TOKEN)",
        )

    p = commands.add_parser("seed", help="create a live demo partner through the gateway")
    gateway_options(p)

    p = commands.add_parser("ops-token", help="print a new random ops token (for ESD_OPS_TOKEN)")
    p.add_argument("--write", type=Path, help="also write it to this file (mode 600)")

    p = commands.add_parser("applications", help="list partner applications")
    gateway_options(p)
    p.add_argument(
        "--status", default="pending", choices=["pending", "approved", "rejected", "all"]
    )

    p = commands.add_parser("approve", help="approve a partner application")
    gateway_options(p)
    p.add_argument("application_id", type=uuid.UUID)
    p.add_argument("--go-live", action="store_true", help="also take the partner out of test mode")
    p.add_argument("--limit", help="credit limit, RUB (with --term-days)")
    p.add_argument("--term-days", type=int, help="payment term, days (with --limit)")

    p = commands.add_parser("load-pool", help="load a file of keys (one a line) into a pool")
    gateway_options(p)
    p.add_argument("sku")
    p.add_argument("file", type=Path)
    p.add_argument("--low-threshold", type=int, help="StockLow threshold of the pool")

    p = commands.add_parser(
        "bank-statement", help="post a 1C bank statement (credit, over the bus)"
    )
    p.add_argument("file", type=Path)
    p.add_argument("--timeout", type=float, default=60)

    p = commands.add_parser("replay-finance", help="re-emit billing's finance events for a period")
    p.add_argument("--from", dest="date_from", type=date.fromisoformat, required=True)
    p.add_argument("--to", dest="date_to", type=date.fromisoformat, required=True)
    p.add_argument("--number", help="only this document")
    p.add_argument("--partner", type=uuid.UUID, help="only this partner's documents")
    p.add_argument("--timeout", type=float, default=120)

    dlq = commands.add_parser("dlq", help="inspect or retry dead-lettered messages")
    verbs = dlq.add_subparsers(dest="dlq_command", required=True)
    p = verbs.add_parser("list", help="dead-letter queues holding messages")
    p.add_argument("--all", action="store_true", help="every DLQ, empty ones too")
    p = verbs.add_parser("show", help="look at a DLQ's messages without taking them")
    p.add_argument("queue", help="e.g. credit.ReserveCredit.dlq")
    p.add_argument("--limit", type=int, default=10)
    p = verbs.add_parser("retry", help="move a DLQ's messages back to their queue")
    p.add_argument("queue", help="e.g. credit.ReserveCredit.dlq")
    p.add_argument("--limit", type=int, help="at most this many")
    p.add_argument("--message-id", help="only this message")

    p = commands.add_parser("saga", help="an order's saga: state and history (orders schema)")
    p.add_argument("order_id", type=uuid.UUID)


OPS_COMMANDS = {
    "seed",
    "ops-token",
    "applications",
    "approve",
    "load-pool",
    "bank-statement",
    "replay-finance",
    "dlq",
    "saga",
}


def run(args: argparse.Namespace) -> int:
    """Run an operations command; print its JSON answer; the exit status."""
    try:
        result = asyncio.run(_run(args))
    except OpsError as error:
        print(json.dumps({"error": str(error)}, ensure_ascii=False), file=sys.stderr)  # noqa: T201
        return error.code
    except (httpx.HTTPError, OSError) as error:
        print(json.dumps({"error": f"unreachable: {error!r}"}), file=sys.stderr)  # noqa: T201
        return 1
    print(json.dumps(result, ensure_ascii=False, indent=2))  # noqa: T201
    return 0


async def _run(args: argparse.Namespace) -> Any:
    command = args.command
    if command == "ops-token":
        token = new_ops_token()
        if args.write:
            await asyncio.to_thread(_write_secret, args.write, token)
        return {"ops_token": token, "use": "set ESD_OPS_TOKEN on the gateway to this value"}
    if command in {"seed", "applications", "approve", "load-pool"}:
        return await _http_command(args)
    settings = PlatformSettings()
    if command == "bank-statement":
        content = await asyncio.to_thread(args.file.read_bytes)
        return await post_bank_statement(settings, content, args.file.name, args.timeout)
    if command == "replay-finance":
        return await replay_finance(
            settings, args.date_from, args.date_to, args.number, args.partner, args.timeout
        )
    if command == "saga":
        return await saga_history(settings, args.order_id)
    if command == "dlq":
        if args.dlq_command == "list":
            return await dlq_list(settings, everything=args.all)
        if args.dlq_command == "show":
            return await dlq_show(settings, args.queue, args.limit)
        return await dlq_retry(settings, args.queue, limit=args.limit, message_id=args.message_id)
    raise OpsError(f"unknown command {command}", 2)


async def _http_command(args: argparse.Namespace) -> Any:
    if not args.token:
        raise OpsError("the ops token is needed: --token or ESD_OPS_TOKEN", 2)
    keys_file = (
        await asyncio.to_thread(args.file.read_bytes) if args.command == "load-pool" else b""
    )
    calls: dict[str, Callable[[httpx.AsyncClient], Awaitable[Any]]] = {
        "seed": lambda http: seed(http, args.token),
        "applications": lambda http: list_applications(
            http, args.token, None if args.status == "all" else args.status
        ),
        "approve": lambda http: approve(
            http,
            args.token,
            args.application_id,
            go_live=args.go_live,
            limit=args.limit,
            term_days=args.term_days,
        ),
        "load-pool": lambda http: load_pool(
            http, args.token, args.sku, keys_file, args.low_threshold
        ),
    }
    async with httpx.AsyncClient(base_url=args.gateway, timeout=60) as http:
        return await calls[args.command](http)
