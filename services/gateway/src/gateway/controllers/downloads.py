"""Signed download links: a valid one redirects to the vendor's distribution."""

from __future__ import annotations

import uuid

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
        verdict = signing.check(
            gateway.settings.download_secret, link, sig, gateway.service.clock.now()
        )
        if verdict is signing.LinkCheck.TAMPERED:
            raise ApiError(404, "not_found", "download link not found")
        if verdict is signing.LinkCheck.EXPIRED:
            raise ApiError(410, "link_expired", "the download link has expired")
        async with gateway.service.engine.connect() as conn:
            target = (await conn.execute(_TARGET, {"order_id": link.order_id})).scalar()
        if target is None:
            raise ApiError(404, "not_found", "download link not found")
        return Redirect(target, status_code=302)


ROUTES: list[type] = [DownloadsController]
