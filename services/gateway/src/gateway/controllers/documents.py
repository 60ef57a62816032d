"""The partner's shipment documents, from the billing service."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from esd_contracts.billing.queries import Documents, GetDocuments
from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath, QueryParameter

from gateway.adapters.queries import QueryFailed
from gateway.domain.errors import NotFound, Unavailable
from gateway.http.deps import AuthenticatedPartner
from gateway.http.presenters import document_read
from gateway.http.schemas import DocumentList, DocumentRead
from gateway.runtime import Gateway


async def _ask(gateway: NamedDependency[Gateway], query: GetDocuments) -> Documents:
    try:
        return await gateway.queries.ask(query, Documents)
    except QueryFailed as exc:
        raise Unavailable("the billing service did not answer; retry shortly") from exc


class DocumentsController(Controller):
    path = "/api/v1/documents"
    tags = ["receivables"]  # noqa: RUF012

    @get("/", summary="Documents with dates in [from, to] (Europe/Moscow calendar days)")
    async def list_documents(
        self,
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        date_from: Annotated[dt.date | None, QueryParameter(name="from")] = None,
        date_to: Annotated[dt.date | None, QueryParameter(name="to")] = None,
    ) -> DocumentList:
        answer = await _ask(
            gateway,
            GetDocuments(
                correlation_id=partner.partner_id,
                occurred_at=gateway.service.clock.now(),
                partner_id=partner.partner_id,
                date_from=date_from,
                date_to=date_to,
            ),
        )
        return DocumentList(items=[document_read(d) for d in answer.documents])

    @get("/{number:str}", summary="One document by number")
    async def get_document(
        self,
        number: FromPath[str],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
    ) -> DocumentRead:
        answer = await _ask(
            gateway,
            GetDocuments(
                correlation_id=partner.partner_id,
                occurred_at=gateway.service.clock.now(),
                partner_id=partner.partner_id,
                number=number,
            ),
        )
        for document in answer.documents:
            if document.number == number:
                return document_read(document)
        raise NotFound("document")


ROUTES: list[type] = [DocumentsController]
