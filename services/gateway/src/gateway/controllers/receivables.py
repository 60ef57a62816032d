"""Ops: payments, bank statements, any partner's balance (now or at a moment) and the
receivables report (ops token only). The credit service does the work; this is its face.

- ``POST /api/v1/admin/payments`` one payment, the spec's body; ``POST
  /api/v1/admin/bank-statements`` a ``1CClientBankExchange`` file (1.02/1.03, Windows-1251, DOS
  or UTF-8), as the raw body or a multipart upload. Both answer where each payment's money went
  (``{"payments": [...], "problems": [...]}``); a payment posted before (same payer, number,
  date) is answered as it was applied and counts once, so a timed-out post may simply be sent
  again. An unknown payer or an unreadable section is reported in ``problems``; the rest is
  booked. Malformed input is 422 and nothing is sent to credit.
- ``GET /api/v1/admin/partners/{partner_id}/balance?at=`` the spec's balance of any partner.
- ``GET /api/v1/admin/receivables?on=&format=json|csv`` debt per partner by age past due.
- ``GET /api/v1/admin/partners/{partner_id}/terms`` the partner's terms history (newest first);
  ``GET /api/v1/admin/partners/{partner_id}/payments?from=&to=&limit=`` its payments (by payment
  date, newest first) with their allocations. A partner without a credit line is 404.
- ``PUT /api/v1/distributor/partners/{partner_id}/terms {"limit", "term_days"}``: a regional
  distributor, with its own key, sets the credit terms of a partner under it (kept in credit's
  terms history as ``distributor:<reseller id>``); ``GET .../balance?at=`` shows that partner's
  balance. Any other partner's id is 404, as if it did not exist.
"""

from __future__ import annotations

import base64
import datetime as dt
import re
import uuid
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, Literal

from esd_contracts.credit.commands import (
    PaymentOrder,
    PostBankStatement,
    PostPayments,
    SetCreditTerms,
)
from esd_contracts.credit.queries import (
    AgingRow,
    CreditHistory,
    GetCreditHistory,
    GetReceivablesAging,
    PaymentsPosted,
    ReceivablesAging,
)
from litestar import Controller, Request, Response, get, post, put
from litestar.datastructures import UploadFile
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.adapters import repository
from gateway.adapters.queries import QueryFailed
from gateway.controllers.balance import (
    AT_DESCRIPTION,
    balance_read,
    checked_at,
    fetch_balance,
)
from gateway.controllers.catalog import apply_price_rule
from gateway.domain.errors import Unavailable
from gateway.domain.inn import is_valid_inn
from gateway.domain.pricing import money
from gateway.http.deps import AuthenticatedPartner, ops_guard
from gateway.http.errors import ApiError
from gateway.http.receivables_schemas import (
    AgingRowRead,
    AllocationRead,
    DistributorTermsUpdate,
    PartnerPaymentsRead,
    PaymentCreate,
    PaymentEntryRead,
    PaymentsRead,
    PostedPaymentRead,
    ReceivablesRead,
    StatementProblemRead,
    TermsEntryRead,
    TermsHistoryRead,
    TermsRead,
)
from gateway.http.schemas import BalanceRead
from gateway.runtime import Gateway

STATEMENT_HEADER = b"1CClientBankExchange"
MAX_STATEMENT_BYTES = 64 * 1024 * 1024
"""A 10,000-payment statement is about 10 MB; room for a month of a busy account."""
STATEMENT_SECONDS = 120.0
"""How long a statement may take to post (10,000 payments take a few seconds)."""
MAX_AMOUNT = Decimal("1000000000000")
_AMOUNT = re.compile(r"^\d{1,13}(\.\d{1,2})?$")
_KPP = re.compile(r"^\d{9}$")
CSV_MEDIA_TYPE = "text/csv; charset=utf-8"


def _amount(raw: str) -> Decimal:
    text = raw.strip()
    if not _AMOUNT.fullmatch(text):
        raise ApiError(
            422,
            "validation_error",
            'amount must be a decimal string with at most two places, e.g. "15000.00"',
            extra={"errors": [{"field": "amount", "message": "not a money amount"}]},
        )
    try:
        value = Decimal(text)
    except InvalidOperation as exc:  # pragma: no cover - the pattern already rules it out
        raise ApiError(422, "validation_error", "amount is not a number") from exc
    if value <= 0 or value >= MAX_AMOUNT:
        raise ApiError(
            422,
            "validation_error",
            "amount must be above zero",
            extra={"errors": [{"field": "amount", "message": "out of range"}]},
        )
    return value


def payment_order(data: PaymentCreate, today: dt.date) -> PaymentOrder:
    """The checked payment as credit's contract; 422 with a stable code otherwise."""
    inn = data.payer_inn.strip()
    if not is_valid_inn(inn):
        raise ApiError(
            422, "invalid_inn", "payer_inn must be 10 or 12 digits with valid control digits"
        )
    if data.payer_kpp is not None and not _KPP.fullmatch(data.payer_kpp):
        raise ApiError(422, "validation_error", "payer_kpp must be 9 digits")
    number = data.number.strip()
    if not number:
        raise ApiError(422, "validation_error", "number must not be blank")
    if data.date > today:
        # the date is the day the money reached the account: it cannot be tomorrow
        raise ApiError(
            422, "validation_error", f"date {data.date} is in the future (today is {today})"
        )
    return PaymentOrder(
        payer_inn=inn,
        amount=_amount(data.amount),
        date=data.date,
        number=number,
        purpose=data.purpose,
        payer_kpp=data.payer_kpp,
        payer_name=data.payer_name,
    )


def payments_read(answer: PaymentsPosted) -> PaymentsRead:
    return PaymentsRead(
        payments=[
            PostedPaymentRead(
                number=p.number,
                partner_id=p.partner_id,
                amount=money(p.amount),
                allocations=[
                    AllocationRead(document=a.document, amount=money(a.amount))
                    for a in p.allocations
                ],
                unallocated=money(p.unallocated),
                date=p.date,
                payer_inn=p.payer_inn,
                status=p.status,
            )
            for p in answer.payments
        ],
        problems=[
            StatementProblemRead(code=p.code, detail=p.detail, line=p.line, number=p.number)
            for p in answer.problems
        ],
    )


async def statement_bytes(request: Request[Any, Any, Any]) -> tuple[bytes, str | None]:
    """The file: the first uploaded file of a multipart form, or the raw body."""
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("multipart/form-data"):
        form = await request.form()
        uploads = [v for _, v in form.multi_items() if isinstance(v, UploadFile)]
        if not uploads:
            raise ApiError(
                422, "validation_error", "the form holds no file: upload the statement as 'file'"
            )
        upload = next((u for k, u in form.multi_items() if k == "file"), uploads[0])
        assert isinstance(upload, UploadFile)
        return await upload.read(), upload.filename
    return await request.body(), None


def check_statement(content: bytes) -> None:
    """Refuse at once what is not a statement at all (nothing is sent to credit)."""
    if not content.strip():
        raise ApiError(422, "validation_error", "the statement file is empty")
    head = content[:256].lstrip(b"\xef\xbb\xbf \t\r\n")
    if not head.startswith(STATEMENT_HEADER):
        raise ApiError(
            422,
            "invalid_statement",
            "not a 1CClientBankExchange file: it must start with the line 1CClientBankExchange",
        )


def _aging_row(row: AgingRow, totals: bool = False) -> AgingRowRead:
    return AgingRowRead(
        partner_id=None if totals else row.partner_id,
        inn=row.inn,
        company_name=row.company_name,
        current=money(row.current),
        overdue_1_7=money(row.overdue_1_7),
        overdue_8_30=money(row.overdue_8_30),
        overdue_30_plus=money(row.overdue_30_plus),
        total=money(row.total),
    )


def _wants_csv(request: Request[Any, Any, Any], format: str | None) -> bool:
    if format is not None:
        return format == "csv"
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == "text/csv" for part in accept.split(","))


class ReceivablesController(Controller):
    path = "/api/v1/admin"
    guards = [ops_guard]  # noqa: RUF012
    tags = ["ops", "receivables"]  # noqa: RUF012

    @post(
        "/payments",
        status_code=200,
        summary="Post a payment: applied to the documents its purpose names, then to the oldest "
        "open ones; the rest stays as unallocated credit. The same payment twice counts once",
    )
    async def post_payment(
        self, data: JSONBody[PaymentCreate], gateway: NamedDependency[Gateway]
    ) -> PaymentsRead:
        order = payment_order(data, gateway.service.clock.today_moscow())
        command = PostPayments(
            correlation_id=uuid.uuid4(),
            occurred_at=gateway.service.clock.now(),
            payments=(order,),
        )
        try:
            answer = await gateway.queries.ask(command, PaymentsPosted)
        except QueryFailed as exc:
            raise Unavailable(
                "the credit service did not answer; the payment may have been posted, and "
                "posting it again counts it once"
            ) from exc
        return payments_read(answer)

    @post(
        "/bank-statements",
        status_code=200,
        request_max_body_size=MAX_STATEMENT_BYTES,
        summary="Post a 1CClientBankExchange statement (raw body or multipart 'file'; "
        "Windows-1251, DOS or UTF-8): every incoming payment as POST /payments does, with a "
        "problem per section or line that could not be booked",
    )
    async def post_bank_statement(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> PaymentsRead:
        content, filename = await statement_bytes(request)
        check_statement(content)
        command = PostBankStatement(
            correlation_id=uuid.uuid4(),
            occurred_at=gateway.service.clock.now(),
            content_base64=base64.b64encode(content).decode("ascii"),
            filename=filename,
        )
        try:
            answer = await gateway.queries.ask(command, PaymentsPosted, seconds=STATEMENT_SECONDS)
        except QueryFailed as exc:
            raise Unavailable(
                "the credit service did not answer; the statement may have been posted, and "
                "posting it again counts each payment once"
            ) from exc
        if not answer.payments and any(p.code == "not_a_statement" for p in answer.problems):
            raise ApiError(
                422,
                "invalid_statement",
                "not a 1CClientBankExchange file",
                extra={"problems": [p.model_dump(mode="json") for p in answer.problems]},
            )
        return payments_read(answer)

    @get(
        "/partners/{partner_id:uuid}/balance",
        summary="Any partner's balance, now or at a past moment",
    )
    async def partner_balance(
        self,
        partner_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        at: Annotated[dt.datetime | None, QueryParameter(description=AT_DESCRIPTION)] = None,
    ) -> BalanceRead:
        answer = await fetch_balance(gateway, partner_id, checked_at(at))
        if answer is None:
            raise ApiError(404, "not_found", "no credit line for this partner (at that moment)")
        return balance_read(answer)

    @get(
        "/partners/{partner_id:uuid}/terms",
        summary="A partner's credit terms history (limit, term, who set them), newest first",
    )
    async def partner_terms(
        self, partner_id: FromPath[uuid.UUID], gateway: NamedDependency[Gateway]
    ) -> TermsHistoryRead:
        history = await _credit_history(gateway, partner_id, None, None, 1)
        return TermsHistoryRead(
            partner_id=partner_id,
            items=[
                TermsEntryRead(
                    limit=money(t.limit),
                    term_days=t.term_days,
                    source=t.source,
                    effective_at=t.effective_at,
                )
                for t in history.terms
            ],
        )

    @get(
        "/partners/{partner_id:uuid}/payments",
        summary="A partner's payments (by payment date, newest first) and their allocations",
    )
    async def partner_payments(
        self,
        partner_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        date_from: Annotated[dt.date | None, QueryParameter(name="from")] = None,
        date_to: Annotated[dt.date | None, QueryParameter(name="to")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=5000)] = 500,
    ) -> PartnerPaymentsRead:
        if date_from is not None and date_to is not None and date_to < date_from:
            raise ApiError(422, "validation_error", "to must not be before from")
        history = await _credit_history(gateway, partner_id, date_from, date_to, limit)
        return PartnerPaymentsRead(
            partner_id=partner_id,
            items=[
                PaymentEntryRead(
                    payment_id=p.payment_id,
                    number=p.number,
                    date=p.date,
                    amount=money(p.amount),
                    unallocated=money(p.unallocated),
                    payer_inn=p.payer_inn,
                    purpose=p.purpose,
                    source=p.source,
                    posted_at=p.posted_at,
                    allocations=[
                        AllocationRead(document=a.document, amount=money(a.amount))
                        for a in p.allocations
                    ],
                )
                for p in history.payments
            ],
        )

    @get(
        "/receivables",
        summary="Receivables by partner and age past due (current, 1-7, 8-30, 30+ days) on a "
        "day; JSON, or CSV with format=csv or Accept: text/csv",
        response_description="JSON report, or text/csv",
    )
    async def receivables(
        self,
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
        on: Annotated[
            dt.date | None, QueryParameter(description="Report day (Moscow); today by default")
        ] = None,
        format: Annotated[
            Literal["json", "csv"] | None, QueryParameter(description="json (default) or csv")
        ] = None,
    ) -> Response[Any]:
        csv = _wants_csv(request, format)
        query = GetReceivablesAging(
            correlation_id=uuid.uuid4(),
            occurred_at=gateway.service.clock.now(),
            on=on,
            format="csv" if csv else "json",
        )
        try:
            answer = await gateway.queries.ask(query, ReceivablesAging, seconds=30.0)
        except QueryFailed as exc:
            raise Unavailable("the credit service did not answer; retry shortly") from exc
        if csv:
            return Response(
                answer.csv or "",
                media_type=CSV_MEDIA_TYPE,
                headers={
                    "Content-Disposition": f'attachment; filename="receivables-{answer.on}.csv"'
                },
            )
        return Response(
            ReceivablesRead(
                on=answer.on,
                rows=[_aging_row(r) for r in answer.rows],
                totals=_aging_row(answer.totals, totals=True),
            )
        )


async def _credit_history(
    gateway: Gateway,
    partner_id: uuid.UUID,
    date_from: dt.date | None,
    date_to: dt.date | None,
    limit: int,
) -> CreditHistory:
    query = GetCreditHistory(
        correlation_id=uuid.uuid4(),
        occurred_at=gateway.service.clock.now(),
        partner_id=partner_id,
        date_from=date_from,
        date_to=date_to,
        limit=limit,
    )
    try:
        answer = await gateway.queries.ask(query, CreditHistory)
    except QueryFailed as exc:
        raise Unavailable("the credit service did not answer; retry shortly") from exc
    if not answer.found:
        raise ApiError(404, "not_found", "no credit line for this partner")
    return answer


async def _own_partner(
    gateway: Gateway, distributor: AuthenticatedPartner, partner_id: uuid.UUID
) -> None:
    """404 unless ``partner_id`` is a partner under this distributor."""
    async with gateway.service.engine.connect() as conn:
        row = await repository.partner(conn, partner_id)
    if row is None or row.distributor_reseller_id != distributor.reseller_id:
        raise ApiError(404, "not_found", "partner not found")


async def set_partner_terms(
    gateway: Gateway,
    distributor: AuthenticatedPartner,
    partner_id: uuid.UUID,
    data: DistributorTermsUpdate,
) -> TermsRead:
    """A distributor sets the credit terms and/or price rule of a partner under it (the API's
    ``PUT .../terms`` and the portal's form); 404 for anyone else's partner."""
    credit = data.limit is not None or data.term_days is not None
    if credit and (data.limit is None or data.term_days is None):
        raise ApiError(422, "validation_error", "limit and term_days go together")
    if not credit and data.price_rule is None:
        raise ApiError(422, "validation_error", "give limit and term_days, a price_rule, or both")
    if data.limit is not None and (
        not data.limit.is_finite() or data.limit < 0 or data.limit >= MAX_AMOUNT
    ):
        raise ApiError(422, "validation_error", "limit must be a non-negative amount")
    await _own_partner(gateway, distributor, partner_id)
    set_by = f"distributor:{distributor.reseller_id}"
    # the price rule first: the catalog may refuse it (422), and then nothing has changed
    rule = (
        await apply_price_rule(gateway, "partner", partner_id, data.price_rule)
        if data.price_rule is not None
        else None
    )
    if data.limit is None or data.term_days is None:
        return TermsRead(partner_id=partner_id, set_by=set_by, price_rule=rule)
    limit = data.limit.quantize(Decimal("0.01"))
    service = gateway.service
    async with service.uow.transaction() as tx:
        if not await repository.set_partner_terms(tx.conn, partner_id, limit, data.term_days):
            raise ApiError(404, "not_found", "partner not found")
        tx.publish(
            SetCreditTerms(
                correlation_id=partner_id,
                occurred_at=service.clock.now(),
                partner_id=partner_id,
                limit=limit,
                term_days=data.term_days,
                set_by=set_by,
            )
        )
    return TermsRead(
        partner_id=partner_id,
        set_by=set_by,
        limit=money(limit),
        term_days=data.term_days,
        price_rule=rule,
    )


class DistributorCreditController(Controller):
    """A regional distributor's view of the partners under it: their credit terms and balance."""

    path = "/api/v1/distributor/partners"
    tags = ["distributor", "receivables"]  # noqa: RUF012

    @put(
        "/{partner_id:uuid}/terms",
        summary="Set the credit terms (limit, term; new documents take the new term, the "
        "history is kept) and/or the price rule of a partner under this distributor",
    )
    async def set_terms(
        self,
        partner_id: FromPath[uuid.UUID],
        data: JSONBody[DistributorTermsUpdate],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
    ) -> TermsRead:
        return await set_partner_terms(gateway, partner, partner_id, data)

    @get("/{partner_id:uuid}/balance", summary="The balance of a partner under this distributor")
    async def balance(
        self,
        partner_id: FromPath[uuid.UUID],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        at: Annotated[dt.datetime | None, QueryParameter(description=AT_DESCRIPTION)] = None,
    ) -> BalanceRead:
        at = checked_at(at)
        await _own_partner(gateway, partner, partner_id)
        answer = await fetch_balance(gateway, partner_id, at)
        if answer is None:
            raise ApiError(404, "not_found", "no credit line for this partner (at that moment)")
        return balance_read(answer)


ROUTES: list[type] = [ReceivablesController, DistributorCreditController]
