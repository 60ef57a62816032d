"""Signed download links: a valid one redirects to the vendor's distribution.

Every use of a genuine link is counted per key in ``download_uses`` (one upsert in the same
round trip as the lookup): ``uses`` for redirects, ``expired_uses`` for uses after expiry. A
tampered link counts nothing: its key id cannot be trusted.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from litestar import Controller, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from litestar.response import Redirect
from sqlalchemy import text

from gateway.domain import signing
from gateway.http.errors import ApiError
from gateway.runtime import Gateway

_TARGET = text(
    "SELECT p.download_url FROM orders o JOIN products p ON p.sku = o.sku "
    "WHERE o.id = :order_id AND o.status = 'completed'"
)
_COUNT = text(
    "INSERT INTO download_uses AS d (key_id, order_id, uses, expired_uses, first_used_at, "
    "last_used_at) VALUES (:key_id, :order_id, :uses, :expired_uses, :now, :now) "
    "ON CONFLICT (key_id) DO UPDATE SET uses = d.uses + excluded.uses, "
    "expired_uses = d.expired_uses + excluded.expired_uses, last_used_at = excluded.last_used_at"
)


class DownloadsController(Controller):
    path = "/api/v1/downloads"
    tags = ["orders"]  # noqa: RUF012

    @get(
        "/{key_id:uuid}",
        summary="302 to the distribution; tampered link 404, expired 410",
        status_code=302,
    )
    async def download(
        self,
        key_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        order: FromQuery[str] = "",
        expires: FromQuery[str] = "",
        sig: FromQuery[str] = "",
    ) -> Response[None]:
        try:
            link = signing.SignedLink(key_id, uuid.UUID(order), int(expires))
        except ValueError as exc:
            raise ApiError(404, "not_found", "download link not found") from exc
        now = gateway.service.clock.now()
        verdict = signing.check(gateway.settings.download_secret, link, sig, now)
        if verdict is signing.LinkCheck.TAMPERED:
            raise ApiError(404, "not_found", "download link not found")
        if verdict is signing.LinkCheck.EXPIRED:
            async with gateway.service.engine.begin() as conn:
                await conn.execute(_COUNT, _use(link, now, expired=True))
            raise ApiError(410, "link_expired", "the download link has expired")
        async with gateway.service.engine.begin() as conn:
            target = (await conn.execute(_TARGET, {"order_id": link.order_id})).scalar()
            if target is not None:
                await conn.execute(_COUNT, _use(link, now, expired=False))
        if target is None:
            raise ApiError(404, "not_found", "download link not found")
        return Redirect(target, status_code=302)


def _use(link: signing.SignedLink, now: datetime, *, expired: bool) -> dict[str, object]:
    return {
        "key_id": link.key_id,
        "order_id": link.order_id,
        "uses": 0 if expired else 1,
        "expired_uses": 1 if expired else 0,
        "now": now,
    }


ROUTES: list[type] = [DownloadsController]
