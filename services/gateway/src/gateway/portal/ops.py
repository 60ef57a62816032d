"""Ops' pages: applications (approve with a set-password link, reject), partners' credit
terms and go-live — through the same onboarding service layer as the ops API."""

from __future__ import annotations

import hashlib
import uuid
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from esd_platform.logging import get_logger
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath

from gateway.adapters import audit as audit_store
from gateway.controllers.balance import fetch_balance
from gateway.controllers.keys_admin import _stock as key_stock
from gateway.controllers.receivables import _credit_history as credit_history
from gateway.domain.errors import Conflict, NotFound, Refusal
from gateway.http.audit import redact
from gateway.http.errors import ApiError
from gateway.portal import auth
from gateway.portal import store as portal_store
from gateway.portal.web import EXCEPTION_HANDLERS, SignInRequired, page, see_other
from gateway.runtime import Gateway
from gateway.service_layer import onboarding

log = get_logger("esd.gateway.portal")


async def ops_viewer(gateway: Gateway, request: Request[Any, Any, Any]) -> auth.Viewer:
    found = await auth.viewer(gateway, request)
    if found is None or found.role != "ops":
        raise SignInRequired("/portal/ops/login")
    return found


async def _queue_link_mail(gateway: Gateway, email: str, link: str) -> bool:
    """E-mail the set-password link through the gateway's mail outbox, where it exists."""
    try:
        from gateway.adapters import mail  # the onboarding mail adapter (issue 8)
    except ImportError:
        return False
    queue = getattr(mail, "queue_mail", None)
    if queue is None:
        return False
    base = gateway.settings.public_base_url.rstrip("/")
    async with gateway.service.uow.transaction() as tx:
        await queue(
            tx.conn,
            recipient=email,
            subject="ESD: доступ к порталу партнёра",
            body=f"Задайте пароль для входа в портал: {base}{link}\n",
            kind="portal_password",
            at=gateway.service.clock.now(),
        )
    return True


class OpsPages(Controller):
    path = "/portal/ops"
    include_in_schema = False
    exception_handlers = EXCEPTION_HANDLERS

    @get("/")
    async def overview(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        viewer = await ops_viewer(gateway, request)
        return await _overview(request, gateway, viewer)

    @post("/applications/{application_id:uuid}/approve")
    async def approve(
        self,
        application_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        viewer = await ops_viewer(gateway, request)
        await auth.check_csrf(request)
        try:
            approved = await onboarding.approve(gateway.service, gateway.secret_box, application_id)
        except Conflict as conflict:
            return await _refused(
                gateway, request, viewer, "approve", application_id, conflict.detail, 409
            )
        async with gateway.service.engine.connect() as conn:
            partner = await _partner_email(conn, approved.partner_id)
        link = await auth.password_link(gateway, approved.partner_id, partner)
        mailed = await _queue_link_mail(gateway, partner, link)
        return await _audited(
            gateway,
            request,
            "approve",
            application_id,
            await _overview(
                request,
                gateway,
                viewer,
                approved={"link": link, "mailed": mailed, "reseller_id": approved.reseller_id},
            ),
        )

    @post("/applications/{application_id:uuid}/reject")
    async def reject(
        self,
        application_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        viewer = await ops_viewer(gateway, request)
        form = await auth.check_csrf(request)
        try:
            await onboarding.reject(
                gateway.service, application_id, form.get("reason", "").strip()[:500] or "—"
            )
        except Conflict as conflict:
            return await _refused(
                gateway, request, viewer, "reject", application_id, conflict.detail, 409
            )
        return await _done(gateway, request, "reject", application_id)

    @post("/partners/{partner_id:uuid}/terms")
    async def terms(
        self,
        partner_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        viewer = await ops_viewer(gateway, request)
        form = await auth.check_csrf(request)
        try:
            limit = Decimal(form.get("limit", "").replace(",", ".").replace(" ", ""))
            term_days = int(form.get("term_days", ""))
        except (InvalidOperation, ValueError):
            limit, term_days = Decimal(-1), -1
        if not limit.is_finite() or limit < 0 or not 0 <= term_days <= 365:
            error = "limit ≥ 0, term 0..365 days"
            return await _refused(gateway, request, viewer, "terms", partner_id, error, 422)
        await onboarding.set_credit_terms(gateway.service, partner_id, limit, term_days)
        return await _done(gateway, request, "terms", partner_id)

    @post("/partners/{partner_id:uuid}/go-live")
    async def go_live(
        self,
        partner_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        viewer = await ops_viewer(gateway, request)
        form = await auth.check_csrf(request)
        number = form.get("contract_number", "").strip()[:64]
        try:
            if number:  # go-live needs the signed contract recorded first
                signed_on = (
                    _date(form.get("contract_date", "")) or gateway.service.clock.now().date()
                )
                await onboarding.record_contract(gateway.service, partner_id, number, signed_on)
            await onboarding.go_live(gateway.service, partner_id)
            gateway.api_keys.forget_all()  # this process at once; the others hear it notified
        except (Conflict, Refusal) as refusal:
            return await _refused(
                gateway, request, viewer, "go_live", partner_id, refusal.detail, 409
            )
        return await _done(gateway, request, "go_live", partner_id)

    @get("/stock")
    async def stock(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        """Key pools: free and issued keys, threshold, low (the keys service's answer)."""
        viewer = await ops_viewer(gateway, request)
        answer = await key_stock(gateway, None)
        items = sorted(answer.items, key=lambda i: (not i.low, i.sku))
        return page(request, "ops_stock.html", viewer, items=items)

    @get("/partners/{partner_id:uuid}")
    async def partner_page(
        self,
        partner_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        """One partner: its balance, terms history and the payments posted to it."""
        viewer = await ops_viewer(gateway, request)
        from gateway.adapters import repository

        async with gateway.service.engine.connect() as conn:
            partner = await repository.partner(conn, partner_id)
        if partner is None:
            raise NotFound("partner")
        balance = await fetch_balance(gateway, partner_id, None)
        try:
            history = await credit_history(gateway, partner_id, None, None, 200)
        except ApiError:
            history = None
        return page(
            request,
            "ops_partner.html",
            viewer,
            partner=partner,
            balance=balance,
            payments=history.payments if history else (),
            terms=history.terms if history else (),
        )


async def _refused(
    gateway: Gateway,
    request: Request[Any, Any, Any],
    viewer: auth.Viewer,
    action: str,
    target: uuid.UUID,
    error: str,
    status: int,
) -> Response[Any]:
    """The ops overview again with why ``action`` was refused, audited as refused."""
    page_ = await _overview(request, gateway, viewer, error=error, status=status)
    return await _audited(gateway, request, action, target, page_)


async def _done(
    gateway: Gateway, request: Request[Any, Any, Any], action: str, target: uuid.UUID
) -> Response[Any]:
    """Back to the ops overview after ``action``, audited."""
    return await _audited(gateway, request, action, target, see_other("/portal/ops"))


async def _audited(
    gateway: Gateway,
    request: Request[Any, Any, Any],
    action: str,
    target: uuid.UUID,
    response: Response[Any],
) -> Response[Any]:
    """One row of the ops audit log for a portal action, as the ops API writes for its own:
    who (the ops token's fingerprint), what, on which target, the form (secrets blanked), the
    status. A failure to write it is logged and does not fail the action."""
    try:
        form = {k: str(v) for k, v in (await request.form()).items() if k != "_csrf"}
        async with gateway.service.uow.transaction() as tx:
            await audit_store.append(
                tx.conn,
                at=gateway.service.clock.now(),
                actor="ops:" + hashlib.sha256(gateway.settings.ops_token.encode()).hexdigest()[:12],
                action=action,
                target=str(target),
                method=request.method,
                path=request.url.path,
                status=response.status_code or 200,
                summary={"via": "portal", "body": redact(form)},
            )
    except Exception:
        log.exception("portal_audit_failed", action=action)
    return response


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value.strip()) if value.strip() else None
    except ValueError:
        return None


async def _partner_email(conn: Any, partner_id: uuid.UUID) -> str:
    from gateway.adapters import repository

    row = await repository.partner(conn, partner_id)
    assert row is not None
    return str(row.email)


async def _overview(
    request: Request[Any, Any, Any],
    gateway: Gateway,
    viewer: auth.Viewer,
    *,
    approved: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
) -> Response[Any]:
    applications = await onboarding.list_applications(gateway.service, "pending", 200)
    async with gateway.service.engine.connect() as conn:
        partners = await portal_store.partners(conn)
    return page(
        request,
        "ops.html",
        viewer,
        status=status,
        applications=applications,
        partners=partners,
        approved=approved,
        error=error,
    )
