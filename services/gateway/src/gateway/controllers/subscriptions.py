"""Subscriptions over HTTP: create (idempotent by external_id), read, change seats, suspend,
resume, cancel — each effective the Moscow day it is made; JSON or XML like every endpoint.

A change is answered 200 once the vendor confirmed it and 202 while it is pending (``wait=N``
waits up to N seconds for the vendor); a create is 201 (200 for a replay of the same body).
"""

from __future__ import annotations

import uuid
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.http.bodies import strict_body
from gateway.http.deps import AuthenticatedPartner
from gateway.http.subscription_schemas import (
    SubscriptionCreate,
    SubscriptionList,
    SubscriptionPatch,
    SubscriptionRead,
    subscription_read,
)
from gateway.runtime import Gateway
from gateway.service_layer import subscriptions

Wait = Annotated[
    int, QueryParameter(ge=0, le=30, description="Seconds to wait for the vendor's confirmation")
]


def _changed(view: Any) -> Response[SubscriptionRead]:
    status = 200 if subscriptions.settled(view) else 202
    return Response(subscription_read(view), status_code=status)


class SubscriptionsController(Controller):
    path = "/api/v1/subscriptions"
    tags = ["subscriptions"]  # noqa: RUF012

    @post("/", summary="Start a subscription (201; 200 for a replay of the same body)")
    async def create(
        self,
        request: Request[Any, Any, Any],
        data: JSONBody[SubscriptionCreate],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        wait: Wait = 0,
    ) -> Response[SubscriptionRead]:
        data = await strict_body(request, SubscriptionCreate)  # "3" is not a quantity
        made = await subscriptions.create_subscription(
            gateway,
            partner,
            external_id=data.external_id,
            sku=data.sku,
            quantity=data.quantity,
            test=data.test,
            wait=wait,
        )
        view = made.subscription
        return Response(
            subscription_read(view),
            status_code=201 if made.created else 200,
            headers={"Location": f"/api/v1/subscriptions/{view.subscription_id}"},
        )

    @get("/", summary="The partner's subscriptions, newest first")
    async def list_all(
        self,
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
    ) -> SubscriptionList:
        views = await subscriptions.list_subscriptions(gateway, partner)
        return SubscriptionList(items=[subscription_read(v) for v in views])

    @get("/{subscription_id:uuid}", summary="One subscription, its history and month's charges")
    async def one(
        self,
        subscription_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        wait: Wait = 0,
    ) -> SubscriptionRead:
        view = await subscriptions.get_subscription(gateway, partner, subscription_id, wait=wait)
        return subscription_read(view)

    @patch("/{subscription_id:uuid}", summary="Change the seats from today (200; 202 pending)")
    async def change_quantity(
        self,
        request: Request[Any, Any, Any],
        subscription_id: FromPath[uuid.UUID],
        data: JSONBody[SubscriptionPatch],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        wait: Wait = 0,
    ) -> Response[SubscriptionRead]:
        data = await strict_body(request, SubscriptionPatch)
        view = await subscriptions.change_subscription(
            gateway, partner, subscription_id, "quantity", data.quantity, wait=wait
        )
        return _changed(view)

    @post("/{subscription_id:uuid}/suspend", status_code=200, summary="Suspend from today")
    async def suspend(
        self,
        subscription_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        wait: Wait = 0,
    ) -> Response[SubscriptionRead]:
        return _changed(
            await subscriptions.change_subscription(
                gateway, partner, subscription_id, "suspend", wait=wait
            )
        )

    @post("/{subscription_id:uuid}/resume", status_code=200, summary="Resume from today")
    async def resume(
        self,
        subscription_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        wait: Wait = 0,
    ) -> Response[SubscriptionRead]:
        return _changed(
            await subscriptions.change_subscription(
                gateway, partner, subscription_id, "resume", wait=wait
            )
        )

    @post(
        "/{subscription_id:uuid}/cancel",
        status_code=200,
        summary="Cancel from today (final: 409 not_resumable afterwards)",
    )
    async def cancel(
        self,
        subscription_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        wait: Wait = 0,
    ) -> Response[SubscriptionRead]:
        return _changed(
            await subscriptions.change_subscription(
                gateway, partner, subscription_id, "cancel", wait=wait
            )
        )


ROUTES: list[type] = [SubscriptionsController]
