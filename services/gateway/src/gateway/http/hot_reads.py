"""The two reads partners' shops poll hardest, answered from memory in front of the app.

``GET /api/v1/balance`` and ``GET /api/v1/orders/{id}`` (no query) are rendered by their
handlers as usual; this layer keeps the answer the handler sent (status 200 only) and replays it
to the same partner, for the same ``Accept``, while what it was made from is unchanged:

- a balance while ``gateway.balances`` still holds the partner's balance it was made from (the
  same generation: no credit event and no final order of the partner announced since, within
  its TTL and the service clock);
- a final order for at most ``ORDER_TTL`` seconds (a final order never changes; the replayed
  download links' expiry is at most that much earlier than a fresh rendering's).

The caller is known only from ``gateway.api_keys`` (the authentication cache, invalidated on
any key or partner change); an unknown key, a key the cache does not hold, a query string, a
body, or a refusal of any kind goes to the app, which answers it in full. A replayed answer
takes its token from the same rate limits as the app's (a refused one goes to the app for its
429) and passes the same ``before_send`` hooks (security headers); with several workers those
limits are leased from PostgreSQL a few tokens at a time (``hardening.SharedBuckets``). Replays
are counted in ``esd_gateway_hot_read_hits_total``; they are
not in the per-route request metrics, which only the app's middleware records.
"""

from __future__ import annotations

import re
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Counter

from gateway.domain.credentials import key_hash

if TYPE_CHECKING:
    from litestar import Litestar

    from gateway.http.hardening import RateLimits
    from gateway.runtime import Gateway

ORDER_TTL = 60.0
_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
_HOT = re.compile(rf"/api/v1/(?:balance|orders/({_UUID}))")
_HITS = Counter("esd_gateway_hot_read_hits", "Reads answered from the gateway's memory", ["route"])
_BALANCE_HITS, _ORDER_HITS = _HITS.labels("balance"), _HITS.labels("order")


@dataclass(frozen=True, slots=True)
class _Answer:
    start: dict[str, Any]
    body: dict[str, Any]
    expires: float
    generation: tuple[int, int] | None
    """The balance's generation it was made from; None for an order."""


class HotReads:
    """ASGI layer in front of the app's handler (``app.asgi_handler``); see the module."""

    def __init__(self, app: Litestar, inner: ASGIApp, size: int = 20_000) -> None:
        self.app = app
        self.inner = inner
        self.size = size
        self.monotonic = time.monotonic
        self._answers: OrderedDict[tuple[uuid.UUID, str, bytes], _Answer] = OrderedDict()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = self._hot(scope)
        if request is None:
            await self.inner(scope, receive, send)
            return
        gateway, limits, token, accept, order_id = request
        partner = gateway.api_keys.get(key_hash(token))
        if partner is None:
            await self.inner(scope, receive, send)
            return
        key = (partner.partner_id, scope["path"], accept)
        answer = self._answers.get(key)
        if (
            answer is not None
            and self._fresh(gateway, answer, partner.partner_id)
            and await limits.wait(scope, str(partner.partner_id)) == 0
        ):
            (_ORDER_HITS if order_id else _BALANCE_HITS).inc()
            start = dict(answer.start)
            start["headers"] = list(start["headers"])
            await send(start)  # type: ignore[arg-type]
            await send(answer.body)  # type: ignore[arg-type]
            return
        await self._render(scope, receive, send, gateway, key, order_id)

    def _hot(self, scope: Any) -> tuple[Gateway, RateLimits, str, bytes, str | None] | None:
        """The request's parts when it may be answered from memory, else None."""
        if scope["type"] != "http" or scope["method"] != "GET" or scope["query_string"]:
            return None
        match = _HOT.fullmatch(scope["path"])
        if match is None:
            return None
        token: str | None = None
        accept = b""
        for name, value in scope["headers"]:
            if name == b"authorization":
                scheme, _, rest = value.partition(b" ")
                if scheme.lower() != b"bearer" or not rest.strip():
                    return None
                token = rest.strip().decode("latin-1")
            elif name == b"accept":
                accept = value
            elif name in (b"content-length", b"transfer-encoding") and value not in (b"0",):
                return None  # a GET with a body: the app says what it thinks of it
        state = self.app.state
        gateway = state.get("gateway")
        limits = state.get("rate_limits")
        if token is None or gateway is None or limits is None:
            return None
        return gateway, limits, token, accept, match.group(1)

    def _fresh(self, gateway: Gateway, answer: _Answer, partner_id: uuid.UUID) -> bool:
        if self.monotonic() >= answer.expires:
            return False
        if answer.generation is None:
            return True  # a final order
        balances = gateway.balances
        return (
            balances.generation(partner_id) == answer.generation
            and balances.get(partner_id, gateway.service.clock.now()) is not None
        )

    async def _render(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        gateway: Gateway,
        key: tuple[uuid.UUID, str, bytes],
        order_id: str | None,
    ) -> None:
        """The app answers; a plain 200 is kept if what it was made from is still current."""
        partner_id = key[0]
        generation = None if order_id else gateway.balances.generation(partner_id)
        sent: list[dict[str, Any]] = []

        async def keep(message: Message) -> None:
            sent.append(message)  # type: ignore[arg-type]
            await send(message)

        await self.inner(scope, receive, keep)
        if (
            len(sent) != 2
            or sent[0].get("type") != "http.response.start"
            or sent[0].get("status") != 200
            or sent[1].get("more_body", False)
        ):
            return
        if order_id is None:
            expires = self._balance_expiry(gateway, partner_id, generation)
        elif gateway.final_orders.get(uuid.UUID(order_id), partner_id) is not None:
            expires = self.monotonic() + ORDER_TTL
        else:
            return  # pending: it will change
        if expires is None:
            return
        self._answers[key] = _Answer(sent[0], sent[1], expires, generation)
        if len(self._answers) > self.size:
            self._answers.popitem(last=False)

    def _balance_expiry(
        self, gateway: Gateway, partner_id: uuid.UUID, generation: Any
    ) -> float | None:
        """Until the cached balance this answer showed expires; None when there is none or a
        change was announced while the answer was made."""
        balances = gateway.balances
        if balances.generation(partner_id) != generation:
            return None
        return balances.expiry(partner_id, gateway.service.clock.now())
