"""A partner's pages: catalog, ordering, orders, balance, documents, API keys.

Each page calls what the API's controllers call (the service layer, the same queries), with
the partner taken from the session instead of an API key: no business rule lives here.
"""

from __future__ import annotations

import asyncio
import base64
import csv
import io
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal, InvalidOperation
from typing import Any

from esd_contracts.billing.queries import (
    DocumentPdf,
    Documents,
    DocumentUpd,
    GetDocumentPdf,
    GetDocuments,
    GetDocumentUpd,
)
from esd_contracts.credit.queries import Balance
from litestar import Controller, Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery
from sqlalchemy import Row

from gateway.adapters import catalog as store
from gateway.adapters import repository
from gateway.adapters.queries import QueryFailed
from gateway.controllers.balance import fetch_balance
from gateway.controllers.catalog import product_at_price
from gateway.controllers.receivables import set_partner_terms
from gateway.domain.errors import Conflict, NotFound, Refusal, Unavailable
from gateway.domain.ordering import OrderRequest, accept
from gateway.http.catalog_schemas import PriceAdjustmentBody, PriceRuleBody
from gateway.http.deps import AuthenticatedPartner
from gateway.http.errors import ApiError
from gateway.http.presenters import decode_cursor, decode_order_cursor, encode_cursor, order_cursor
from gateway.http.receivables_schemas import DistributorTermsUpdate
from gateway.http.schemas import ProductRead
from gateway.portal import auth
from gateway.portal import store as portal_store
from gateway.portal.web import EXCEPTION_HANDLERS, SignInRequired, page, see_other
from gateway.runtime import Gateway
from gateway.service_layer import catalog, onboarding, ordering, subscriptions

PAGE = 50
SEARCH_BATCH = 500
SUBSCRIPTION_WAIT = 5.0
"""Seconds a subscription change waits for the vendor's answer before the page is shown."""


@dataclass(frozen=True)
class SessionPartner:
    """The partner of a session, as the subscriptions service layer wants a caller."""

    partner_id: uuid.UUID
    live: bool


STATUSES = ("pending", "completed", "rejected", "failed", "cancelled")


async def partner_viewer(gateway: Gateway, request: Request[Any, Any, Any]) -> auth.Viewer:
    found = await auth.viewer(gateway, request)
    if found is None or found.role != "partner" or found.partner_id is None:
        raise SignInRequired
    return found


def _pid(viewer: auth.Viewer) -> uuid.UUID:
    assert viewer.partner_id is not None
    return viewer.partner_id


async def _balance(gateway: Gateway, partner_id: uuid.UUID) -> Balance | None:
    try:
        return await fetch_balance(gateway, partner_id, None)
    except Unavailable:
        return None


async def _product(gateway: Gateway, partner_id: uuid.UUID, sku: str) -> ProductRead:
    async with gateway.service.engine.connect() as conn:
        row = await repository.product(conn, sku)
        if row is None:
            raise NotFound("product")
        rules = await catalog.rules_of(conn, partner_id)
    return product_at_price(row, rules)


def _order_fields(product: ProductRead, form: dict[str, str]) -> dict[str, str]:
    return {f.name: form.get(f"field_{f.name}", "").strip() for f in product.required_fields}


def _quantity(form: dict[str, str]) -> int:
    try:
        return int(form.get("quantity", "").strip())
    except ValueError:
        return 0  # refused by the intake rule below, with its own message


async def _keys(gateway: Gateway, row: Row[Any]) -> list[ordering.KeyLink]:
    try:
        return await ordering.order_keys(gateway, row)
    except Unavailable:
        return []


class PartnerPages(Controller):
    path = "/portal"
    include_in_schema = False
    exception_handlers = EXCEPTION_HANDLERS

    @get("/")
    async def home(self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]) -> Any:
        found = await auth.viewer(gateway, request)
        if found is None:
            return see_other("/portal/login")
        return see_other("/portal/ops" if found.role == "ops" else "/portal/catalog")

    # -- catalog ------------------------------------------------------------------------------

    @get("/catalog")
    async def catalog_page(
        self,
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
        q: FromQuery[str | None] = None,
        vendor: FromQuery[str | None] = None,
        category: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        q, vendor, category = (q or "")[:200], (vendor or "")[:200], (category or "")[:200]
        try:
            after = decode_cursor(cursor) if cursor else None
        except Exception:
            after = None
        async with gateway.service.engine.connect() as conn:
            rules = await catalog.rules_of(conn, _pid(viewer))
            vendors, categories = await portal_store.vendors_and_categories(conn)
            # the API's search, page by page (keyset on sku); retired products and other
            # categories are passed over here (the API has no category filter)
            rows: list[Row[Any]] = []
            while len(rows) <= PAGE:
                batch = await store.search_products(
                    conn,
                    vendor=vendor or None,
                    q=q or None,
                    kind=None,
                    after_sku=after,
                    limit=SEARCH_BATCH,
                )
                rows.extend(
                    r for r in batch if r.active and (not category or r.category == category)
                )
                if len(batch) < SEARCH_BATCH:
                    break
                after = batch[-1].sku
        shown = rows[:PAGE]
        more = encode_cursor(shown[-1].sku) if len(rows) > PAGE else None
        return page(
            request,
            "catalog.html",
            viewer,
            products=[product_at_price(r, rules) for r in shown],
            vendors=vendors,
            categories=categories,
            q=q,
            vendor=vendor,
            category=category,
            next_cursor=more,
        )

    @get("/catalog/{sku:str}")
    async def product_page(
        self, sku: FromPath[str], request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        product = await _product(gateway, _pid(viewer), sku)
        balance = await _balance(gateway, _pid(viewer))
        return page(
            request,
            "product.html",
            viewer,
            product=product,
            balance=balance,
            form={},
            error=None,
            external_id="portal-" + uuid.uuid4().hex[:24],
        )

    # -- ordering -----------------------------------------------------------------------------

    @post("/order/confirm")
    async def confirm(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        form = await auth.check_csrf(request)
        product = await _product(gateway, _pid(viewer), form.get("sku", ""))
        balance = await _balance(gateway, _pid(viewer))
        fields = _order_fields(product, form)
        test = form.get("test") == "1"
        order = OrderRequest(
            external_id="portal-" + uuid.uuid4().hex[:24],
            sku=product.sku,
            quantity=_quantity(form),
            test=test,
            fields=fields,
        )
        try:
            async with gateway.service.engine.connect() as conn:
                row = await repository.product(conn, product.sku)
                terms = (
                    None if row is None else await catalog.partner_terms(conn, _pid(viewer), row)
                )
            priced = accept(order, terms)  # the intake rule itself: the same answer as the API
        except Refusal as refusal:
            return page(
                request,
                "product.html",
                viewer,
                status=422,
                product=product,
                balance=balance,
                form=form,
                error=refusal.detail,
            )
        after = None if balance is None else Decimal(balance.available) - priced.amount
        return page(
            request,
            "confirm.html",
            viewer,
            product=product,
            order=order,
            priced=priced,
            balance=balance,
            available_after=after,
        )

    @post("/orders")
    async def place(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        form = await auth.check_csrf(request)
        product = await _product(gateway, _pid(viewer), form.get("sku", ""))
        external_id = form.get("external_id", "")
        if not external_id.startswith("portal-"):
            external_id = "portal-" + uuid.uuid4().hex[:24]
        try:
            placed = await ordering.place_order(
                gateway,
                _pid(viewer),
                viewer.live,
                OrderRequest(
                    external_id=external_id,
                    sku=product.sku,
                    quantity=_quantity(form),
                    test=form.get("test") == "1",
                    fields=_order_fields(product, form),
                ),
            )
        except (Refusal, Conflict) as refusal:
            return page(
                request,
                "product.html",
                viewer,
                status=422 if isinstance(refusal, Refusal) else 409,
                product=product,
                balance=await _balance(gateway, _pid(viewer)),
                form=form,
                error=refusal.detail,
            )
        return see_other(f"/portal/orders/{placed.row.id}")

    # -- orders -------------------------------------------------------------------------------

    @get("/orders")
    async def orders_page(
        self,
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
        status: FromQuery[str | None] = None,
        since: FromQuery[str | None] = None,
        external_id: FromQuery[str | None] = None,
        cursor: FromQuery[str | None] = None,
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        status = status if status in STATUSES else None
        since_at: datetime | None = None
        if since:
            try:
                since_at = datetime.combine(date.fromisoformat(since), time(), tzinfo=UTC)
            except ValueError:
                since = None
        try:
            before = decode_order_cursor(cursor) if cursor else None
        except Exception:
            before = None
        rows = await ordering.list_orders(
            gateway,
            _pid(viewer),
            external_id=(external_id or "").strip() or None,
            status=status,
            since=since_at,
            before=before,
            limit=PAGE + 1,
        )
        shown = rows[:PAGE]
        return page(
            request,
            "orders.html",
            viewer,
            orders=shown,
            status_filter=status or "",
            since=since or "",
            external_id=external_id or "",
            statuses=STATUSES,
            next_cursor=order_cursor(shown[-1]) if len(rows) > PAGE else None,
        )

    @get("/orders/{order_id:uuid}")
    async def order_page(
        self,
        order_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        row = await ordering.read_order(gateway, _pid(viewer), order_id)  # another's: 404
        return page(request, "order.html", viewer, order=row, keys=await _keys(gateway, row))

    @get("/orders/{order_id:uuid}/live")
    async def order_live(
        self,
        order_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        """The order's status and keys as a fragment; htmx asks again until the order is final
        (each ask waits up to 5 s for the outcome, so keys show the moment they exist)."""
        viewer = await partner_viewer(gateway, request)
        row = await ordering.wait_until_final(gateway, _pid(viewer), order_id, 5.0)
        return page(request, "order_live.html", viewer, order=row, keys=await _keys(gateway, row))

    @get("/orders/{order_id:uuid}/keys/{fmt:str}")
    async def keys_file(
        self,
        order_id: FromPath[uuid.UUID],
        fmt: FromPath[str],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        if fmt not in ("csv", "txt"):
            raise NotFound("file")
        row = await ordering.read_order(gateway, _pid(viewer), order_id)
        keys = await ordering.order_keys(gateway, row)
        base = str(request.base_url).rstrip("/")
        if fmt == "txt":
            body = "".join(
                f"{k.activation_code}\t{_absolute(base, k.download_url)}\n" for k in keys
            )
            media = "text/plain; charset=utf-8"
        else:
            out = io.StringIO()
            writer = csv.writer(out, delimiter=";")
            writer.writerow(["order_id", "sku", "activation_code", "download_url", "expires_at"])
            for k in keys:
                writer.writerow(
                    [
                        row.id,
                        row.sku,
                        k.activation_code,
                        _absolute(base, k.download_url),
                        k.download_expires_at.isoformat(),
                    ]
                )
            body = "\ufeff" + out.getvalue()  # BOM: Excel opens UTF-8 Cyrillic correctly
            media = "text/csv; charset=utf-8"
        return Response(
            content=body.encode(),
            media_type=media,
            headers={
                "Content-Disposition": f'attachment; filename="keys-{row.id}.{fmt}"',
                "Cache-Control": "no-store",
            },
        )

    # -- balance and documents ----------------------------------------------------------------

    @get("/balance")
    async def balance_page(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        balance = await fetch_balance(gateway, _pid(viewer), None)
        return page(request, "balance.html", viewer, balance=balance)

    @get("/documents")
    async def documents_page(
        self,
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
        date_from: FromQuery[str | None] = None,
        date_to: FromQuery[str | None] = None,
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        answer = await _ask(
            gateway,
            GetDocuments(
                correlation_id=_pid(viewer),
                occurred_at=gateway.service.clock.now(),
                partner_id=_pid(viewer),
                date_from=_day(date_from),
                date_to=_day(date_to),
            ),
            Documents,
        )
        documents = sorted(answer.documents, key=lambda d: (d.date, d.number), reverse=True)
        return page(
            request,
            "documents.html",
            viewer,
            documents=documents,
            date_from=date_from or "",
            date_to=date_to or "",
        )

    @get("/documents/{number:str}/{fmt:str}")
    async def document_file(
        self,
        number: FromPath[str],
        fmt: FromPath[str],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        meta: dict[str, Any] = {
            "correlation_id": _pid(viewer),
            "occurred_at": gateway.service.clock.now(),
            "partner_id": _pid(viewer),
            "number": number,
        }
        if fmt == "pdf":
            pdf = await _ask(gateway, GetDocumentPdf(**meta), DocumentPdf)
            if not pdf.found or pdf.content_base64 is None:
                raise NotFound("document")
            return _download(
                base64.b64decode(pdf.content_base64),
                "application/pdf",
                pdf.file_name or f"{number}.pdf",
            )
        if fmt == "upd":
            upd = await _ask(gateway, GetDocumentUpd(**meta), DocumentUpd)
            if not upd.found or upd.xml is None or upd.file_name is None:
                raise NotFound("document")
            return _download(
                upd.xml.encode("cp1251"), "application/xml; charset=windows-1251", upd.file_name
            )
        raise NotFound("document")

    # -- API keys -----------------------------------------------------------------------------

    @get("/api-keys")
    async def api_keys_page(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        return await _keys_page(request, gateway, viewer, None)

    @post("/api-keys")
    async def issue_key(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        await auth.check_csrf(request)
        _, api_key = await onboarding.issue_api_key(gateway.service, _pid(viewer))
        return await _keys_page(request, gateway, viewer, api_key)

    @post("/api-keys/{key_id:uuid}/revoke")
    async def revoke_key(
        self,
        key_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        await auth.check_csrf(request)
        await onboarding.revoke_api_key(gateway.service, _pid(viewer), key_id)
        gateway.api_keys.forget_all()  # this process at once; the others hear it notified
        return see_other("/portal/api-keys")

    # -- subscriptions ------------------------------------------------------------------------

    @get("/subscriptions")
    async def subscriptions_page(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        return await _subscriptions(request, gateway, viewer, None)

    @post("/subscriptions")
    async def subscribe(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        """A new subscription from the product page (its external id was fixed when the page
        was shown, so a double submit is a replay, not a second subscription)."""
        viewer = await partner_viewer(gateway, request)
        form = await auth.check_csrf(request)
        product = await _product(gateway, _pid(viewer), form.get("sku", ""))
        external_id = form.get("external_id", "")
        if not external_id.startswith("portal-"):
            external_id = "portal-" + uuid.uuid4().hex[:24]
        try:
            await subscriptions.create_subscription(
                gateway,
                SessionPartner(_pid(viewer), viewer.live),
                external_id=external_id,
                sku=product.sku,
                quantity=_quantity(form),
                test=form.get("test") == "1",
                wait=SUBSCRIPTION_WAIT,
            )
        except (Refusal, Conflict) as refusal:
            return page(
                request,
                "product.html",
                viewer,
                status=422 if isinstance(refusal, Refusal) else 409,
                product=product,
                balance=await _balance(gateway, _pid(viewer)),
                form=form,
                error=refusal.detail,
                external_id=external_id,
            )
        return see_other("/portal/subscriptions")

    @post("/subscriptions/{subscription_id:uuid}")
    async def change_subscription(
        self,
        subscription_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        form = await auth.check_csrf(request)
        action = form.get("action", "")
        if action not in ("quantity", "suspend", "resume"):
            return await _subscriptions(request, gateway, viewer, "unknown action", 422)
        try:
            await subscriptions.change_subscription(
                gateway,
                SessionPartner(_pid(viewer), viewer.live),
                subscription_id,
                action,  # type: ignore[arg-type]
                _quantity(form) if action == "quantity" else None,
                wait=SUBSCRIPTION_WAIT,
            )
        except (Refusal, Conflict) as refusal:
            status = 422 if isinstance(refusal, Refusal) else 409
            return await _subscriptions(request, gateway, viewer, refusal.detail, status)
        return see_other("/portal/subscriptions")

    # -- a distributor's partners ---------------------------------------------------------------

    @get("/my-partners")
    async def my_partners(
        self, request: Request[Any, Any, Any], gateway: NamedDependency[Gateway]
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        return await _my_partners(request, gateway, viewer, None)

    @post("/my-partners/{partner_id:uuid}/terms")
    async def my_partner_terms(
        self,
        partner_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        """The distributor sets a partner's credit terms and its price (a discount or markup
        on every product, in percent): the API's own handler does it (its checks, the ownership
        rule, the credit terms attributed to the distributor, the catalog's price rule)."""
        viewer = await partner_viewer(gateway, request)
        form = await auth.check_csrf(request)
        percent_text = form.get("percent", "").replace(",", ".").replace(" ", "")
        try:
            limit = Decimal(form.get("limit", "").replace(",", ".").replace(" ", ""))
            term_days = int(form.get("term_days", ""))
            percent = Decimal(percent_text) if percent_text else None
        except (InvalidOperation, ValueError):
            return await _my_partners(request, gateway, viewer, "limit, term_days, %", 422)
        if not 0 <= term_days <= 365:
            return await _my_partners(request, gateway, viewer, "term_days: 0..365", 422)
        if percent is not None and not (percent.is_finite() and -100 < percent <= 1000):
            return await _my_partners(request, gateway, viewer, "%: -100..1000", 422)
        price_rule = (
            None
            if percent is None
            else PriceRuleBody(adjustments=[PriceAdjustmentBody(percent=percent)])
        )
        caller = AuthenticatedPartner(
            _pid(viewer), viewer.reseller_id or "", viewer.live, uuid.UUID(int=0)
        )
        try:
            await set_partner_terms(
                gateway,
                caller,
                partner_id,
                DistributorTermsUpdate(limit=limit, term_days=term_days, price_rule=price_rule),
            )
        except ApiError as refused:
            if refused.status == 404:
                raise NotFound("partner") from refused
            return await _my_partners(request, gateway, viewer, refused.detail, refused.status)
        return see_other("/portal/my-partners")

    @get("/my-partners/{partner_id:uuid}/orders")
    async def my_partner_orders(
        self,
        partner_id: FromPath[uuid.UUID],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
    ) -> Response[Any]:
        viewer = await partner_viewer(gateway, request)
        partner = await _own_partner(gateway, viewer, partner_id)
        rows = await ordering.list_orders(
            gateway,
            partner_id,
            external_id=None,
            status=None,
            since=None,
            before=None,
            limit=PAGE,
        )
        return page(request, "my_partner_orders.html", viewer, partner=partner, orders=rows)


async def _own_partner(gateway: Gateway, viewer: auth.Viewer, partner_id: uuid.UUID) -> Any:
    """A partner under the viewer (a distributor); 404 for anyone else's."""
    async with gateway.service.engine.connect() as conn:
        row = await repository.partner(conn, partner_id)
    if row is None or not viewer.reseller_id or row.distributor_reseller_id != viewer.reseller_id:
        raise NotFound("partner")
    return row


async def _my_partners(
    request: Request[Any, Any, Any],
    gateway: Gateway,
    viewer: auth.Viewer,
    error: str | None,
    status: int = 200,
) -> Response[Any]:
    async with gateway.service.engine.connect() as conn:
        rows = await portal_store.partners_of_distributor(conn, viewer.reseller_id or "")
    balances = await asyncio.gather(*(_balance(gateway, r.partner_id) for r in rows))
    return page(
        request,
        "my_partners.html",
        viewer,
        status=status,
        partners=list(zip(rows, balances, strict=True)),
        error=error,
    )


async def _keys_page(
    request: Request[Any, Any, Any], gateway: Gateway, viewer: auth.Viewer, new_key: str | None
) -> Response[Any]:
    async with gateway.service.engine.connect() as conn:
        keys = await portal_store.api_keys(conn, _pid(viewer))
    return page(request, "api_keys.html", viewer, keys=keys, new_key=new_key)


async def _subscriptions(
    request: Request[Any, Any, Any],
    gateway: Gateway,
    viewer: auth.Viewer,
    error: str | None,
    status: int = 200,
) -> Response[Any]:
    items = await subscriptions.list_subscriptions(
        gateway, SessionPartner(_pid(viewer), viewer.live)
    )
    return page(request, "subscriptions.html", viewer, status=status, items=items, error=error)


def _absolute(base: str, url: str) -> str:
    return url if url.startswith("http") else base + url


def _day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _download(content: bytes, media: str, name: str) -> Response[Any]:
    return Response(
        content=content,
        media_type=media,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _ask(gateway: Gateway, query: Any, reply: Any) -> Any:
    try:
        return await gateway.queries.ask(query, reply)
    except QueryFailed as exc:
        raise Unavailable("the billing service did not answer; retry shortly") from exc
