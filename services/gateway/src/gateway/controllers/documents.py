"""The partner's shipment documents, from the billing service: the resource (JSON), the UPD XML
for EDO (``?format=upd``) and the printable PDF (``?format=pdf`` or ``Accept: application/pdf``).

A partner sees only its own documents: another partner's number answers 404 in every format.
"""

from __future__ import annotations

import base64
import datetime as dt
from typing import Annotated, Any, TypeVar

from esd_contracts.billing.queries import (
    DocumentPdf,
    Documents,
    DocumentUpd,
    GetDocumentPdf,
    GetDocuments,
    GetDocumentUpd,
)
from esd_contracts.envelope import Query
from litestar import Controller, Request, Response, get
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, QueryParameter
from pydantic import BaseModel

from gateway.adapters.queries import QueryFailed
from gateway.domain.errors import NotFound, Unavailable
from gateway.http.deps import AuthenticatedPartner
from gateway.http.errors import ApiError
from gateway.http.presenters import document_read
from gateway.http.schemas import DocumentList, DocumentRead
from gateway.runtime import Gateway

Reply = TypeVar("Reply", bound=BaseModel)

UPD_MEDIA_TYPE = "application/xml; charset=windows-1251"
PDF_MEDIA_TYPE = "application/pdf"


async def _ask(gateway: Gateway, query: Query, reply: type[Reply]) -> Reply:
    try:
        return await gateway.queries.ask(query, reply)
    except QueryFailed as exc:
        raise Unavailable("the billing service did not answer; retry shortly") from exc


def _wants_pdf(request: Request[Any, Any, Any]) -> bool:
    """``Accept: application/pdf`` asks for the printable form (a browser's download link)."""
    accept = request.headers.get("accept", "")
    return any(part.split(";")[0].strip() == PDF_MEDIA_TYPE for part in accept.split(","))


def _attachment(file_name: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{file_name}"'}


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
            Documents,
        )
        return DocumentList(items=[document_read(d) for d in answer.documents])

    @get(
        "/{number:str}",
        summary="One document by number: JSON; ?format=upd the UPD XML (FNS 5.03, "
        "windows-1251) for EDO; ?format=pdf (or Accept: application/pdf) the printable form",
        responses={
            200: ResponseSpec(
                data_container=DocumentRead,
                description="The document; with ?format=upd application/xml (the UPD file), "
                "with ?format=pdf application/pdf",
            )
        },
    )
    async def get_document(
        self,
        number: FromPath[str],
        request: Request[Any, Any, Any],
        gateway: NamedDependency[Gateway],
        partner: NamedDependency[AuthenticatedPartner],
        document_format: Annotated[
            str | None, QueryParameter(name="format", description="json (default), upd or pdf")
        ] = None,
    ) -> Response[Any]:
        chosen = document_format or ("pdf" if _wants_pdf(request) else "json")
        if chosen not in ("json", "upd", "pdf"):
            raise ApiError(422, "validation_error", "format must be json, upd or pdf")
        meta = {
            "correlation_id": partner.partner_id,
            "occurred_at": gateway.service.clock.now(),
            "partner_id": partner.partner_id,
            "number": number,
        }
        if chosen == "upd":
            upd = await _ask(gateway, GetDocumentUpd(**meta), DocumentUpd)
            if not upd.found or upd.xml is None or upd.file_name is None:
                raise NotFound("document")
            return Response(
                content=upd.xml.encode("cp1251"),
                media_type=UPD_MEDIA_TYPE,
                headers=_attachment(upd.file_name),
            )
        if chosen == "pdf":
            pdf = await _ask(gateway, GetDocumentPdf(**meta), DocumentPdf)
            if not pdf.found or pdf.content_base64 is None:
                raise NotFound("document")
            return Response(
                content=base64.b64decode(pdf.content_base64),
                media_type=PDF_MEDIA_TYPE,
                headers=_attachment(pdf.file_name or f"{number}.pdf"),
            )
        answer = await _ask(gateway, GetDocuments(**meta), Documents)
        for document in answer.documents:
            if document.number == number:
                found: DocumentRead = document_read(document)
                return Response(content=found)
        raise NotFound("document")


ROUTES: list[type] = [DocumentsController]
