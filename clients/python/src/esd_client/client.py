"""The partner API over HTTP: :class:`Client` (sync) and :class:`AsyncClient`, one surface.

Retries are safe by construction: reads are retried freely; ``POST /orders`` is retried with
the *same* ``external_id`` and body, which the gateway answers with the order it already took
(never a second order); other writes are retried only when the gateway did not take them
(429, or a connection that failed before sending). 429 and 503 honour ``Retry-After``; other
retries back off exponentially with jitter.
"""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from esd_client.errors import ApiError, TransportError, from_problem
from esd_client.models import Balance, Feed, Order, Page, Product

FeedFormat = Literal["json", "xml", "csv", "commerceml", "yml"]
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to try. ``attempts`` counts the first try."""

    attempts: int = 5
    backoff: float = 0.5
    max_backoff: float = 20.0
    max_retry_after: float = 120.0

    def delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds before try ``attempt + 1``: the server's Retry-After, else exponential
        backoff with full jitter."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_retry_after)
        ceiling = min(self.max_backoff, self.backoff * 2 ** (attempt - 1))
        return random.uniform(0, ceiling)  # noqa: S311 - jitter, not a secret


@dataclass(frozen=True)
class _Call:
    method: str
    path: str
    params: dict[str, Any] | None = None
    json: Any = None
    headers: dict[str, str] | None = None
    idempotent: bool = True
    """May be sent again after a failure whose effect is unknown (timeouts, 5xx)."""


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None


def _problem(response: httpx.Response) -> ApiError:
    try:
        body = response.json()
    except ValueError:
        body = None
    return from_problem(response.status_code, body, _retry_after(response), response.reason_phrase)


def _params(**values: Any) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not None}


class _Surface:
    """Request building shared by both clients (no I/O)."""

    def __init__(
        self, base_url: str, api_key: str, *, retry: RetryPolicy | None, user_agent: str
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.retry = retry or RetryPolicy()
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json",
            "User-Agent": user_agent,
        }

    @staticmethod
    def _order_call(
        sku: str,
        quantity: int,
        external_id: str | None,
        test: bool,
        fields: Mapping[str, str] | None,
        callback_url: str | None,
        wait: int,
    ) -> _Call:
        body: dict[str, Any] = {
            "external_id": external_id or uuid.uuid4().hex,
            "sku": sku,
            "quantity": quantity,
        }
        if test:
            body["test"] = True
        if fields:
            body["fields"] = dict(fields)
        if callback_url:
            body["callback_url"] = callback_url
        # idempotent by external_id: a retry returns the order already taken
        return _Call("POST", "/api/v1/orders", _params(wait=wait or None), body)

    def _should_retry(self, call: _Call, attempt: int, status: int | None, sent: bool) -> bool:
        if attempt >= self.retry.attempts:
            return False
        if status is None:  # no answer: safe if not sent, or if sending again is harmless
            return call.idempotent or not sent
        if status == 429:
            return True  # refused before any effect
        return status in _RETRY_STATUSES and call.idempotent


def _unsent(exc: httpx.TransportError) -> bool:
    return isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout)


class Client(_Surface):
    """Synchronous client. ``with Client(url, key) as esd: esd.place_order("SKU", 1)``."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
        user_agent: str = "esd-client-python/0.1",
    ) -> None:
        super().__init__(base_url, api_key, retry=retry, user_agent=user_agent)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport
        )
        self.sleep = time.sleep

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    def _send(self, call: _Call) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = self._http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=call.headers
                )
            except httpx.TransportError as exc:
                if not self._should_retry(call, attempt, None, not _unsent(exc)):
                    raise TransportError(f"{type(exc).__name__}: {exc}") from exc
                self.sleep(self.retry.delay(attempt, None))
                continue
            if response.status_code < 400 or response.status_code == 304:
                return response
            if not self._should_retry(call, attempt, response.status_code, True):
                raise _problem(response)
            self.sleep(self.retry.delay(attempt, _retry_after(response)))

    # -- orders --
    def place_order(
        self,
        sku: str,
        quantity: int,
        *,
        external_id: str | None = None,
        test: bool = False,
        fields: Mapping[str, str] | None = None,
        callback_url: str | None = None,
        wait: int = 0,
    ) -> Order:
        """Place an order (or get back the one already placed with this ``external_id``).

        Give your own order id as ``external_id``: then a retry, even after a crash of your
        side, can never buy twice. ``wait`` (seconds) returns once the order is final."""
        call = self._order_call(sku, quantity, external_id, test, fields, callback_url, wait)
        response = self._send(call)
        return Order.from_json(response.json(), replayed=response.status_code == 200)

    def get_order(self, order_id: uuid.UUID | str, *, wait: int = 0) -> Order:
        call = _Call("GET", f"/api/v1/orders/{order_id}", _params(wait=wait or None))
        return Order.from_json(self._send(call).json())

    def wait_for_order(self, order_id: uuid.UUID | str, max_wait: float = 60.0) -> Order:
        """The order once final (polled with the server-side ``wait``), or as it is then."""
        deadline = time.monotonic() + max_wait
        while True:
            left = int(min(30, max(0, deadline - time.monotonic())))
            order = self.get_order(order_id, wait=left)
            if order.final or time.monotonic() >= deadline:
                return order

    def list_orders(
        self,
        *,
        status: str | None = None,
        external_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Order]:
        params = _params(status=status, external_id=external_id, limit=limit, cursor=cursor)
        data = self._send(_Call("GET", "/api/v1/orders", params)).json()
        return Page([Order.from_json(o) for o in data["items"]], data.get("next_cursor"))

    def iter_orders(self, **filters: Any) -> Iterator[Order]:
        cursor = None
        while True:
            page = self.list_orders(cursor=cursor, **filters)
            yield from page.items
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    def cancel_order(self, order_id: uuid.UUID | str) -> Order:
        call = _Call("POST", f"/api/v1/orders/{order_id}/cancel")  # cancelling twice is harmless
        return Order.from_json(self._send(call).json())

    # -- account and catalog --
    def balance(self) -> Balance:
        return Balance.from_json(self._send(_Call("GET", "/api/v1/balance")).json())

    def products(
        self,
        *,
        q: str | None = None,
        vendor: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Product]:
        params = _params(q=q, vendor=vendor, kind=kind, limit=limit, cursor=cursor)
        data = self._send(_Call("GET", "/api/v1/catalog/products", params)).json()
        return Page([Product.from_json(p) for p in data["items"]], data.get("next_cursor"))

    def product(self, sku: str) -> Product:
        return Product.from_json(self._send(_Call("GET", f"/api/v1/catalog/products/{sku}")).json())

    def export_catalog(
        self, fmt: FeedFormat = "json", *, since: str | None = None, etag: str | None = None
    ) -> Feed:
        """The whole catalog at your prices; with the last ``etag``, ``not_modified`` when
        nothing changed (HTTP 304)."""
        call = _export_call(fmt, since, etag)
        return _feed(self._send(call))


def _export_call(fmt: str, since: str | None, etag: str | None) -> _Call:
    headers = {"If-None-Match": etag} if etag else None
    params = _params(format=fmt, since=since)
    return _Call("GET", "/api/v1/catalog/export", params, headers=headers)


def _feed(response: httpx.Response) -> Feed:
    return Feed(
        content=response.content,
        content_type=response.headers.get("Content-Type", ""),
        etag=response.headers.get("ETag"),
        not_modified=response.status_code == 304,
    )


class AsyncClient(_Surface):
    """Asynchronous client; the same methods as :class:`Client`, awaited."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        user_agent: str = "esd-client-python/0.1",
    ) -> None:
        super().__init__(base_url, api_key, retry=retry, user_agent=user_agent)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, timeout=timeout, transport=transport
        )
        self.sleep: Callable[[float], Awaitable[None]] = asyncio.sleep

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(self, call: _Call) -> httpx.Response:
        attempt = 0
        while True:
            attempt += 1
            try:
                response = await self._http.request(
                    call.method, call.path, params=call.params, json=call.json, headers=call.headers
                )
            except httpx.TransportError as exc:
                if not self._should_retry(call, attempt, None, not _unsent(exc)):
                    raise TransportError(f"{type(exc).__name__}: {exc}") from exc
                await self.sleep(self.retry.delay(attempt, None))
                continue
            if response.status_code < 400 or response.status_code == 304:
                return response
            if not self._should_retry(call, attempt, response.status_code, True):
                raise _problem(response)
            await self.sleep(self.retry.delay(attempt, _retry_after(response)))

    async def place_order(
        self,
        sku: str,
        quantity: int,
        *,
        external_id: str | None = None,
        test: bool = False,
        fields: Mapping[str, str] | None = None,
        callback_url: str | None = None,
        wait: int = 0,
    ) -> Order:
        """See :meth:`Client.place_order`."""
        call = self._order_call(sku, quantity, external_id, test, fields, callback_url, wait)
        response = await self._send(call)
        return Order.from_json(response.json(), replayed=response.status_code == 200)

    async def get_order(self, order_id: uuid.UUID | str, *, wait: int = 0) -> Order:
        call = _Call("GET", f"/api/v1/orders/{order_id}", _params(wait=wait or None))
        return Order.from_json((await self._send(call)).json())

    async def wait_for_order(self, order_id: uuid.UUID | str, max_wait: float = 60.0) -> Order:
        deadline = time.monotonic() + max_wait
        while True:
            left = int(min(30, max(0, deadline - time.monotonic())))
            order = await self.get_order(order_id, wait=left)
            if order.final or time.monotonic() >= deadline:
                return order

    async def list_orders(
        self,
        *,
        status: str | None = None,
        external_id: str | None = None,
        limit: int = 50,
        cursor: str | None = None,
    ) -> Page[Order]:
        params = _params(status=status, external_id=external_id, limit=limit, cursor=cursor)
        data = (await self._send(_Call("GET", "/api/v1/orders", params))).json()
        return Page([Order.from_json(o) for o in data["items"]], data.get("next_cursor"))

    async def iter_orders(self, **filters: Any) -> AsyncIterator[Order]:
        cursor = None
        while True:
            page = await self.list_orders(cursor=cursor, **filters)
            for order in page.items:
                yield order
            if not page.next_cursor:
                return
            cursor = page.next_cursor

    async def cancel_order(self, order_id: uuid.UUID | str) -> Order:
        call = _Call("POST", f"/api/v1/orders/{order_id}/cancel")
        return Order.from_json((await self._send(call)).json())

    async def balance(self) -> Balance:
        return Balance.from_json((await self._send(_Call("GET", "/api/v1/balance"))).json())

    async def products(
        self,
        *,
        q: str | None = None,
        vendor: str | None = None,
        kind: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Page[Product]:
        params = _params(q=q, vendor=vendor, kind=kind, limit=limit, cursor=cursor)
        data = (await self._send(_Call("GET", "/api/v1/catalog/products", params))).json()
        return Page([Product.from_json(p) for p in data["items"]], data.get("next_cursor"))

    async def product(self, sku: str) -> Product:
        response = await self._send(_Call("GET", f"/api/v1/catalog/products/{sku}"))
        return Product.from_json(response.json())

    async def export_catalog(
        self, fmt: FeedFormat = "json", *, since: str | None = None, etag: str | None = None
    ) -> Feed:
        return _feed(await self._send(_export_call(fmt, since, etag)))
