"""Delivering closed documents through the EDO operator and tracking what became of them."""

from __future__ import annotations

from esd_contracts.billing.commands import DocumentResent, ResendDocument
from esd_contracts.billing.queries import EdoDocument, EdoStatus, GetEdoStatus
from esd_platform.logging import get_logger
from esd_platform.uow import UnitOfWork

from billing.adapters import repository
from billing.adapters.edo import EdoOperator
from billing.service_layer.issuer import Issuer
from billing.service_layer.printing import upd_of

log = get_logger("esd.billing.edo")

BATCH = 100


async def send_closed(uow: UnitOfWork, issuer: Issuer, operator: EdoOperator) -> int:
    """Hand every closed, unsent document's UPD to the operator; returns how many were sent.

    The file is written while the document's row is locked and the status is committed after;
    a crash in between resends the same file (same name, same bytes) on the next pass.
    """
    sent = 0
    while True:
        async with uow.transaction() as tx:
            ids = await repository.claim_unsent(tx.conn, BATCH)
            if not ids:
                return sent
            documents = await repository.load_documents(tx.conn, ids=ids)
            now = uow.clock.now()
            for document in documents:
                if document.buyer is None:
                    await repository.set_edo(
                        tx.conn,
                        document.id,
                        status="rejected",
                        file=None,
                        message="buyer details (PartnerRegistered) never arrived",
                        now=now,
                    )
                    log.error("edo_no_buyer_details", document=document.number)
                    continue
                upd = upd_of(document, issuer)
                report = await operator.send(upd.file_name, upd.encode())
                await repository.set_edo(
                    tx.conn,
                    document.id,
                    status=report.status,
                    file=upd.file_name,
                    message=report.message,
                    now=now,
                )
                log.info(
                    "edo_sent", document=document.number, file=upd.file_name, operator=operator.name
                )
            sent += len(documents)
        if len(ids) < BATCH:
            return sent


async def track_sent(uow: UnitOfWork, operator: EdoOperator) -> int:
    """Record the operator's delivered/rejected reports; returns how many documents settled."""
    async with uow.transaction() as tx:
        claimed = await repository.claim_sent(tx.conn, BATCH * 10)
        if not claimed:
            return 0
        reports = await operator.statuses(file for _, file in claimed)
        now = uow.clock.now()
        settled = 0
        for document_id, file in claimed:
            report = reports.get(file)
            if report is None or report.status == "sent":
                continue
            await repository.set_edo(
                tx.conn,
                document_id,
                status=report.status,
                file=None,
                message=report.message,
                now=now,
            )
            settled += 1
            log.info("edo_settled", file=file, status=report.status, reason=report.message)
    return settled


# -- ops ----------------------------------------------------------------------------------------


async def edo_status(query: GetEdoStatus, uow: UnitOfWork) -> EdoStatus:
    """Documents' EDO state for ops, newest first."""
    async with uow.engine.connect() as conn:
        rows = await repository.edo_documents(
            conn,
            edo_status=query.edo_status,
            partner_id=query.partner_id,
            date_from=query.date_from,
            date_to=query.date_to,
            number=query.number,
            limit=query.limit,
        )
    return EdoStatus(
        documents=tuple(
            EdoDocument(
                number=r.number,
                partner_id=r.partner_id,
                date=r.date,
                closed=r.closed_at is not None,
                edo_status=r.edo_status,
                edo_file=r.edo_file,
                edo_message=r.edo_message,
                edo_updated_at=r.edo_updated_at,
                edo_free=r.official,
            )
            for r in rows
        )
    )


async def resend(cmd: ResendDocument, uow: UnitOfWork) -> DocumentResent:
    """Clear a closed document's EDO status so the next pass hands it over again (the same
    file: its name and bytes derive from the document). An open document cannot be sent."""
    async with uow.transaction() as tx:
        row = await repository.document_for_resend(tx.conn, cmd.number)
        if row is None:
            return DocumentResent(found=False)
        if row.closed_at is None:
            return DocumentResent(
                found=True, reason="document_not_closed", previous_status=row.edo_status
            )
        await repository.clear_edo(tx.conn, row.id, uow.clock.now())
    log.info("edo_resend_queued", document=cmd.number, previous_status=row.edo_status)
    return DocumentResent(found=True, queued=True, previous_status=row.edo_status)
