"""The document in the forms partners and EDO read: UPD XML and the printable PDF."""

from __future__ import annotations

import asyncio
import base64
import uuid

from esd_contracts.billing.queries import DocumentPdf, DocumentUpd, GetDocumentPdf, GetDocumentUpd
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork

from billing.adapters import pdf, repository
from billing.adapters.upd import builder
from billing.adapters.upd.schema import validate
from billing.domain.model import Snapshot
from billing.service_layer.issuer import Issuer

log = get_logger("esd.billing.printing")


def upd_of(document: Snapshot, issuer: Issuer) -> builder.Upd:
    """The document's UPD, checked against the XSD."""
    upd = builder.build(
        document,
        seller=issuer.seller,
        seller_edo_id=issuer.seller_edo_id,
        signer=issuer.signer,
    )
    validate(upd)
    return upd


async def _own_document(uow: UnitOfWork, partner_id: uuid.UUID, number: str) -> Snapshot | None:
    async with uow.engine.connect() as conn:
        found = await repository.load_documents(conn, partner_id=partner_id, number=number)
    return found[0] if found else None


async def get_document_upd(query: GetDocumentUpd, uow: UnitOfWork, issuer: Issuer) -> DocumentUpd:
    """The UPD of the partner's own document; another partner's number is not found."""
    document = await _own_document(uow, query.partner_id, query.number)
    if document is None:
        return DocumentUpd(found=False)
    if document.buyer is None:
        log.warning("upd_without_buyer_details", document=document.number)
        return DocumentUpd(found=False)
    upd = await asyncio.to_thread(upd_of, document, issuer)
    return DocumentUpd(found=True, file_name=upd.file_name, xml=upd.xml)


async def get_document_pdf(query: GetDocumentPdf, uow: UnitOfWork, issuer: Issuer) -> DocumentPdf:
    """The printable form of the partner's own document."""
    document = await _own_document(uow, query.partner_id, query.number)
    if document is None:
        return DocumentPdf(found=False)
    content = await asyncio.to_thread(
        pdf.render, document, issuer.seller, issuer.font, issuer.font_bold
    )
    return DocumentPdf(
        found=True,
        file_name=f"{document.number}.pdf",
        content_base64=base64.b64encode(content).decode("ascii"),
    )
