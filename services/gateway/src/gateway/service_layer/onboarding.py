"""Partners' first steps: application, ops decision (told by e-mail), contract, terms,
go-live, key rotation, request budget."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from esd_contracts.credit.commands import SetCreditTerms
from esd_contracts.partners.events import PartnerRegistered
from esd_platform.service import Service

from gateway.adapters import partner_admin, repository
from gateway.adapters.secret_box import SecretBox
from gateway.domain.credentials import key_hash, new_api_key, new_webhook_secret
from gateway.domain.errors import Conflict, NotFound, Refusal
from gateway.domain.inn import is_valid_inn
from gateway.service_layer.mail import queue_mail

DEFAULT_CREDIT_LIMIT = Decimal("50000.00")
DEFAULT_TERM_DAYS = 15


@dataclass(frozen=True)
class Approved:
    partner_id: uuid.UUID
    reseller_id: str
    api_key: str
    key_id: uuid.UUID
    webhook_secret: str


async def submit_application(
    service: Service,
    *,
    company_name: str,
    inn: str,
    kpp: str | None,
    email: str,
    region: str,
    distributor_reseller_id: str | None,
) -> uuid.UUID:
    inn = inn.strip()
    if not is_valid_inn(inn):
        raise Refusal("invalid_inn", "INN must have 10 or 12 digits with valid control digits")
    application_id = uuid.uuid4()
    async with service.uow.transaction() as tx:
        await repository.insert_application(
            tx.conn,
            id=application_id,
            company_name=company_name.strip(),
            inn=inn,
            kpp=kpp,
            email=email.strip(),
            region=region.strip(),
            distributor_reseller_id=distributor_reseller_id,
            created_at=service.clock.now(),
        )
    return application_id


async def list_applications(service: Service, status: str | None, limit: int) -> list[Any]:
    async with service.engine.connect() as conn:
        return list(await repository.list_applications(conn, status, limit))


async def _pending_or_raise(service: Service, application_id: uuid.UUID) -> None:
    async with service.engine.connect() as conn:
        row = await repository.application(conn, application_id)
    if row is None:
        raise NotFound("application")
    raise Conflict("application_decided", f"the application is already {row.status}")


def approval_mail(company: str, reseller_id: str, base_url: str) -> tuple[str, str]:
    """Subject and text of the approval mail. Never the API key or the webhook secret: those
    are shown once, in ops' answer, and handed over by ops; a mailbox is no place for them."""
    base = base_url.rstrip("/")
    subject = f"esd: заявка одобрена / application approved — {reseller_id}"
    body = (
        f"Здравствуйте, {company}!\n\n"
        f"Ваша заявка одобрена. Ваш идентификатор реселлера: {reseller_id}.\n\n"
        "Что дальше:\n"
        "1. Ключ API и секрет вебхуков передаст вам наш менеджер (они показываются один раз).\n"
        "2. До подписания договора и перевода в рабочий режим доступны только тестовые заказы "
        '("test": true).\n'
        "3. После подписания договора мы переведём вас в рабочий режим.\n\n"
        f"Описание API: {base}/schema\n\n"
        f"Your application is approved. Your reseller ID is {reseller_id}.\n"
        "Next steps: our manager hands you the API key and the webhook secret (shown once); "
        "until the contract is signed and we switch you live, only test orders are accepted.\n"
        f"API reference: {base}/schema\n"
    )
    return subject, body


def rejection_mail(company: str, reason: str) -> tuple[str, str]:
    subject = "esd: заявка отклонена / application declined"
    body = (
        f"Здравствуйте, {company}!\n\n"
        f"К сожалению, ваша заявка отклонена. Причина: {reason}\n\n"
        f"We are sorry: your application was declined. Reason: {reason}\n"
    )
    return subject, body


async def approve(
    service: Service,
    box: SecretBox,
    application_id: uuid.UUID,
    base_url: str = "",
    *,
    official: bool = False,
) -> Approved:
    """Create the partner, its first key and secret, announce it and queue the applicant's
    mail — in one transaction. ``official``: an official (authorised) partner of the
    distributor (``PartnerRegistered.official``; billing makes its EDO free)."""
    partner_id = uuid.uuid4()
    api_key, key_id, webhook_secret = new_api_key(), uuid.uuid4(), new_webhook_secret()
    now = service.clock.now()
    async with service.uow.transaction() as tx:
        application = await repository.decide_application(
            tx.conn, application_id, "approved", now, partner_id=partner_id
        )
        if application is None:
            reseller_id = ""
        else:
            reseller_id = await repository.insert_partner(
                tx.conn,
                partner_id=partner_id,
                application_id=application_id,
                company=application.company_name,
                inn=application.inn,
                kpp=application.kpp,
                email=application.email,
                region=application.region,
                distributor_reseller_id=application.distributor_reseller_id,
                credit_limit=DEFAULT_CREDIT_LIMIT,
                term_days=DEFAULT_TERM_DAYS,
                webhook_secret=box.seal(webhook_secret),
                created_at=now,
                official=official,
            )
            await repository.insert_api_key(tx.conn, partner_id, key_id, key_hash(api_key), now)
            subject, body = approval_mail(application.company_name, reseller_id, base_url)
            await queue_mail(
                tx.conn,
                recipient=application.email,
                subject=subject,
                body=body,
                kind="application_approved",
                at=now,
                mail_id=uuid.uuid5(application_id, "application-approved"),
            )
            tx.publish(
                PartnerRegistered(
                    correlation_id=partner_id,
                    occurred_at=now,
                    partner_id=partner_id,
                    reseller_id=reseller_id,
                    company_name=application.company_name,
                    inn=application.inn,
                    kpp=application.kpp,
                    credit_limit=DEFAULT_CREDIT_LIMIT,
                    term_days=DEFAULT_TERM_DAYS,
                    official=official,
                )
            )
    if application is None:
        await _pending_or_raise(service, application_id)
    return Approved(partner_id, reseller_id, api_key, key_id, webhook_secret)


async def reject(service: Service, application_id: uuid.UUID, reason: str) -> Any:
    """Reject with a reason; the applicant's mail is queued in the same transaction."""
    now = service.clock.now()
    async with service.uow.transaction() as tx:
        row = await repository.decide_application(
            tx.conn, application_id, "rejected", now, reason=reason
        )
        if row is not None:
            subject, body = rejection_mail(row.company_name, reason)
            await queue_mail(
                tx.conn,
                recipient=row.email,
                subject=subject,
                body=body,
                kind="application_rejected",
                at=now,
                mail_id=uuid.uuid5(application_id, "application-rejected"),
            )
    if row is None:
        await _pending_or_raise(service, application_id)
    return row


async def set_credit_terms(
    service: Service, partner_id: uuid.UUID, limit: Decimal, term_days: int
) -> Any:
    limit = limit.quantize(Decimal("0.01"))
    async with service.uow.transaction() as tx:
        if not await repository.set_partner_terms(tx.conn, partner_id, limit, term_days):
            raise NotFound("partner")
        tx.publish(
            SetCreditTerms(
                correlation_id=partner_id,
                occurred_at=service.clock.now(),
                partner_id=partner_id,
                limit=limit,
                term_days=term_days,
            )
        )
        return await repository.partner(tx.conn, partner_id)


async def go_live(service: Service, partner_id: uuid.UUID) -> Any:
    """Leave test mode; only once the contract is recorded as signed (409 otherwise)."""
    async with service.uow.transaction() as tx:
        current = await partner_admin.partner_for_update(tx.conn, partner_id)
        if current is None:
            raise NotFound("partner")
        if current.contract_number is None:
            raise Conflict(
                "contract_not_signed",
                "the partner's contract is not recorded as signed: "
                "POST /api/v1/admin/partners/{id}/contract-signed first",
            )
        return await repository.go_live(tx.conn, partner_id)


async def record_contract(
    service: Service, partner_id: uuid.UUID, number: str, signed_on: date
) -> Any:
    """Record the signed contract (number and date); recording it again replaces them."""
    async with service.uow.transaction() as tx:
        row = await partner_admin.record_contract(
            tx.conn, partner_id, number.strip(), signed_on, service.clock.now()
        )
    if row is None:
        raise NotFound("partner")
    return row


async def set_rate_limit(service: Service, partner_id: uuid.UUID, per_minute: int | None) -> Any:
    """The partner's own request budget (None: back to the gateway's default)."""
    async with service.uow.transaction() as tx:
        row = await partner_admin.set_rate_limit(tx.conn, partner_id, per_minute)
    if row is None:
        raise NotFound("partner")
    return row


async def get_partner(service: Service, partner_id: uuid.UUID) -> Any:
    async with service.engine.connect() as conn:
        row = await repository.partner(conn, partner_id)
    if row is None:
        raise NotFound("partner")
    return row


async def issue_api_key(service: Service, partner_id: uuid.UUID) -> tuple[uuid.UUID, str]:
    api_key, key_id = new_api_key(), uuid.uuid4()
    async with service.uow.transaction() as tx:
        if await repository.partner(tx.conn, partner_id) is None:
            raise NotFound("partner")
        await repository.insert_api_key(
            tx.conn, partner_id, key_id, key_hash(api_key), service.clock.now()
        )
    return key_id, api_key


async def revoke_api_key(service: Service, partner_id: uuid.UUID, key_id: uuid.UUID) -> None:
    async with service.uow.transaction() as tx:
        if not await repository.revoke_api_key(tx.conn, partner_id, key_id, service.clock.now()):
            raise NotFound("API key")
