"""Ops: applications, partners' terms, contract, go-live, API keys and request budgets
(ops token only)."""

from __future__ import annotations

import uuid
from typing import Annotated, Any, Literal

from litestar import Controller, Request, delete, get, post, put
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter

from gateway.adapters import mail as mail_store
from gateway.controllers import distributor_orders
from gateway.domain.errors import NotFound
from gateway.http.admin_schemas import (
    ApprovalOptions,
    ContractSigned,
    MailList,
    MailRead,
    RateLimitUpdate,
)
from gateway.http.deps import ops_guard
from gateway.http.errors import ApiError
from gateway.http.presenters import application_read, partner_read
from gateway.http.schemas import (
    ApiKeyIssued,
    ApplicationList,
    ApplicationRead,
    Approval,
    CreditTermsUpdate,
    PartnerRead,
    Rejection,
)
from gateway.runtime import Gateway
from gateway.service_layer import onboarding


class AdminController(Controller):
    path = "/api/v1/admin"
    guards = [ops_guard]  # noqa: RUF012
    tags = ["ops"]  # noqa: RUF012

    @get("/applications", summary="Applications, optionally by status")
    async def list_applications(
        self,
        gateway: NamedDependency[Gateway],
        status: FromQuery[Literal["pending", "approved", "rejected"] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> ApplicationList:
        rows = await onboarding.list_applications(gateway.service, status, limit)
        return ApplicationList(items=[application_read(r) for r in rows])

    @post(
        "/applications/{application_id:uuid}/approve",
        status_code=200,
        summary="Approve: creates the partner (test mode, default terms), its key and secret; "
        'optional body {"official": true} marks an official partner (free EDO)',
    )
    async def approve(
        self,
        application_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        data: JSONBody[ApprovalOptions | None] = None,
    ) -> Approval:
        approved = await onboarding.approve(
            gateway.service,
            gateway.secret_box,
            application_id,
            base_url=gateway.settings.public_base_url,
            official=data is not None and data.official,
        )
        return Approval(
            partner_id=approved.partner_id,
            reseller_id=approved.reseller_id,
            api_key=approved.api_key,
            webhook_secret=approved.webhook_secret,
            key_id=approved.key_id,
        )

    @post("/applications/{application_id:uuid}/reject", status_code=200, summary="Reject")
    async def reject(
        self,
        application_id: FromPath[uuid.UUID],
        data: JSONBody[Rejection],
        gateway: NamedDependency[Gateway],
    ) -> ApplicationRead:
        row = await onboarding.reject(gateway.service, application_id, data.reason)
        return application_read(row)

    @put("/partners/{partner_id:uuid}/credit", summary="Set the credit limit and payment term")
    async def set_credit(
        self,
        partner_id: FromPath[uuid.UUID],
        data: JSONBody[CreditTermsUpdate],
        gateway: NamedDependency[Gateway],
    ) -> PartnerRead:
        if not data.limit.is_finite() or data.limit < 0:
            raise ApiError(422, "validation_error", "limit must be a non-negative amount")
        row = await onboarding.set_credit_terms(
            gateway.service, partner_id, data.limit, data.term_days
        )
        return partner_read(row)

    @get("/partners/{partner_id:uuid}", summary="A partner: terms, contract, live, budget")
    async def get_partner(
        self, partner_id: FromPath[uuid.UUID], gateway: NamedDependency[Gateway]
    ) -> PartnerRead:
        return partner_read(await onboarding.get_partner(gateway.service, partner_id))

    @post(
        "/partners/{partner_id:uuid}/contract-signed",
        status_code=200,
        summary="Record the signed contract (number, date); go-live requires it",
    )
    async def record_contract(
        self,
        partner_id: FromPath[uuid.UUID],
        data: JSONBody[ContractSigned],
        gateway: NamedDependency[Gateway],
    ) -> PartnerRead:
        if not data.number.strip():
            raise ApiError(422, "validation_error", "number must not be blank")
        row = await onboarding.record_contract(gateway.service, partner_id, data.number, data.date)
        return partner_read(row)

    @put(
        "/partners/{partner_id:uuid}/rate-limit",
        summary="Set the partner's request budget (per_minute; null = the default)",
    )
    async def set_rate_limit(
        self,
        request: Request[Any, Any, Any],
        partner_id: FromPath[uuid.UUID],
        data: JSONBody[RateLimitUpdate],
        gateway: NamedDependency[Gateway],
    ) -> PartnerRead:
        row = await onboarding.set_rate_limit(gateway.service, partner_id, data.per_minute)
        budgets = request.app.state.get("partner_budgets")
        if budgets is not None:  # this process applies it at once, others within seconds
            budgets.forget(str(partner_id))
        return partner_read(row)

    @post(
        "/partners/{partner_id:uuid}/go-live",
        status_code=200,
        summary="Leave test mode (409 contract_not_signed before the contract is recorded)",
    )
    async def go_live(
        self, partner_id: FromPath[uuid.UUID], gateway: NamedDependency[Gateway]
    ) -> PartnerRead:
        live = await onboarding.go_live(gateway.service, partner_id)
        gateway.api_keys.forget_all()  # this process at once; the others hear it notified
        return partner_read(live)

    @post(
        "/partners/{partner_id:uuid}/api-keys",
        status_code=201,
        summary="Issue another API key (rotation); shown once",
    )
    async def issue_key(
        self, partner_id: FromPath[uuid.UUID], gateway: NamedDependency[Gateway]
    ) -> ApiKeyIssued:
        key_id, api_key = await onboarding.issue_api_key(gateway.service, partner_id)
        return ApiKeyIssued(key_id=key_id, api_key=api_key)

    @delete(
        "/partners/{partner_id:uuid}/api-keys/{key_id:uuid}",
        status_code=204,
        summary="Revoke an API key at once",
    )
    async def revoke_key(
        self,
        partner_id: FromPath[uuid.UUID],
        key_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
    ) -> None:
        await onboarding.revoke_api_key(gateway.service, partner_id, key_id)
        gateway.api_keys.forget_all()  # this process at once; the others hear it notified


class MailController(Controller):
    """Ops' view of the mail outbox: what went to applicants, what waits, what failed."""

    path = "/api/v1/admin/mail"
    guards = [ops_guard]  # noqa: RUF012
    tags = ["ops"]  # noqa: RUF012

    @get("/", summary="Mails to partners, newest first (status: pending, sent, failed)")
    async def list_mail(
        self,
        gateway: NamedDependency[Gateway],
        status: FromQuery[Literal["pending", "sent", "failed"] | None] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=500)] = 100,
    ) -> MailList:
        async with gateway.service.engine.connect() as conn:
            rows = await mail_store.list_mail(conn, status, limit)
        return MailList(items=[_mail_read(r) for r in rows])

    @post("/{mail_id:uuid}/retry", status_code=200, summary="Send a failed mail again now")
    async def retry(
        self, mail_id: FromPath[uuid.UUID], gateway: NamedDependency[Gateway]
    ) -> MailRead:
        async with gateway.service.engine.begin() as conn:
            row = await mail_store.retry_now(conn, mail_id, gateway.service.clock.now())
        if row is None:
            raise NotFound("unsent mail")
        return _mail_read(row)


def _mail_read(row: Any) -> MailRead:
    return MailRead(
        id=str(row.id),
        kind=row.kind,
        recipient=row.recipient,
        subject=row.subject,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
        sent_at=row.sent_at,
        transport=row.transport,
        created_at=row.created_at,
    )


# a distributor's view of its partners' orders rides on this module's line in the route list
ROUTES: list[type] = [AdminController, MailController, *distributor_orders.ROUTES]
