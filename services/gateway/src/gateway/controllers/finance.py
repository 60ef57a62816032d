"""Ops: the finance feed and EDO, from the billing service (ops token only).

- ``POST /api/v1/admin/finance/replay {from, to}`` re-emits the finance events of documents
  dated in the period (or of one ``document``, or one ``partner_id``'s) with the ids they were
  first emitted with, for a downstream system that lost data; a ledger that has them drops them.
  Billing re-emits lines, closings and subscription charges; credit the payments, allocations,
  blocks and unblocks of the period's Moscow days (not for a single ``document``).
- ``GET /api/v1/admin/finance/edo`` lists documents' EDO state (``status=unsent|sent|delivered|
  rejected``), ``GET …/edo/{number}`` one document's, and ``POST …/edo/{number}/resend`` hands a
  closed document to the EDO operator again (the same file).
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Literal, TypeVar

from esd_contracts.billing.commands import (
    DocumentResent,
    FinanceEventsReplayed,
    ReplayFinanceEvents,
    ResendDocument,
)
from esd_contracts.billing.queries import EdoDocument, EdoStatus, GetEdoStatus
from esd_contracts.credit.commands import FinanceFeedReplayed, ReplayFinanceFeed
from esd_contracts.envelope import Query
from litestar import Controller, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, QueryParameter
from pydantic import BaseModel

from gateway.adapters.queries import QueryFailed
from gateway.domain.errors import Unavailable
from gateway.http.deps import ops_guard
from gateway.http.errors import ApiError
from gateway.http.finance_schemas import (
    EdoDocumentList,
    EdoDocumentRead,
    EdoResendRead,
    FinanceReplay,
    FinanceReplayRead,
)
from gateway.runtime import Gateway

Reply = TypeVar("Reply", bound=BaseModel)

MAX_REPLAY_DAYS = 366
"""A replay re-emits every line of every document in the period: a year at most per request."""


async def _ask(gateway: Gateway, query: Query, reply: type[Reply], what: str) -> Reply:
    try:
        return await gateway.queries.ask(query, reply)
    except QueryFailed as exc:
        raise Unavailable(f"the {query.CONTEXT} service did not answer; {what}") from exc


def _number_year(number: str) -> int | None:
    parts = number.split("-")
    if len(parts) == 3 and parts[1].isdigit() and len(parts[1]) == 4:
        return int(parts[1])
    return None


def _period(data: FinanceReplay) -> tuple[dt.date, dt.date]:
    """The replay's [from, to]; a document alone stands for its number's year."""
    if data.date_from is None:
        year = _number_year(data.document) if data.document else None
        if year is None:
            raise ApiError(422, "validation_error", "from is required (or a document number)")
        return dt.date(year, 1, 1), data.date_to or dt.date(year, 12, 31)
    date_to = data.date_to or data.date_from
    if date_to < data.date_from:
        raise ApiError(422, "validation_error", "to must not be before from")
    if (date_to - data.date_from).days >= MAX_REPLAY_DAYS:
        raise ApiError(
            422, "validation_error", f"replay at most {MAX_REPLAY_DAYS} days per request"
        )
    return data.date_from, date_to


def _edo_read(item: EdoDocument) -> EdoDocumentRead:
    return EdoDocumentRead(
        number=item.number,
        partner_id=item.partner_id,
        date=item.date,
        closed=item.closed,
        edo_status=item.edo_status,
        edo_file=item.edo_file,
        edo_message=item.edo_message,
        edo_updated_at=item.edo_updated_at,
        edo_free=item.edo_free,
    )


class FinanceController(Controller):
    path = "/api/v1/admin/finance"
    guards = [ops_guard]  # noqa: RUF012
    tags = ["ops"]  # noqa: RUF012

    @post(
        "/replay",
        status_code=200,
        summary="Re-emit the finance events of documents dated in [from, to] (or of one "
        "document / partner) with their original ids",
    )
    async def replay(
        self, data: JSONBody[FinanceReplay], gateway: NamedDependency[Gateway]
    ) -> FinanceReplayRead:
        date_from, date_to = _period(data)
        answer = await _ask(
            gateway,
            ReplayFinanceEvents(
                correlation_id=uuid.uuid4(),
                occurred_at=gateway.service.clock.now(),
                date_from=date_from,
                date_to=date_to,
                number=data.document,
                partner_id=data.partner_id,
            ),
            FinanceEventsReplayed,
            "the replay may be under way; asking again only re-sends the same events",
        )
        if data.document is not None and answer.lines == 0 and answer.closed == 0:
            raise ApiError(404, "not_found", f"no document {data.document} dated in the period")
        receivables = 0
        if data.document is None:  # payments, allocations, blocks: credit's part of the feed
            receivables = (
                await _ask(
                    gateway,
                    ReplayFinanceFeed(
                        correlation_id=uuid.uuid4(),
                        occurred_at=gateway.service.clock.now(),
                        date_from=date_from,
                        date_to=date_to,
                        partner_id=data.partner_id,
                    ),
                    FinanceFeedReplayed,
                    "the documents' events were re-emitted, the receivables' maybe not; asking "
                    "again only re-sends the same events",
                )
            ).events
        return FinanceReplayRead(
            date_from=answer.date_from,
            date_to=answer.date_to,
            lines=answer.lines,
            closed=answer.closed,
            charges=answer.charges,
            receivables=receivables,
            document=data.document,
            partner_id=data.partner_id,
        )

    @get("/edo", summary="Documents' EDO state, newest first")
    async def edo_documents(
        self,
        gateway: NamedDependency[Gateway],
        status: Annotated[
            Literal["unsent", "sent", "delivered", "rejected"] | None,
            QueryParameter(description="unsent = closed and not yet handed to the operator"),
        ] = None,
        partner_id: FromQuery[uuid.UUID | None] = None,
        date_from: Annotated[dt.date | None, QueryParameter(name="from")] = None,
        date_to: Annotated[dt.date | None, QueryParameter(name="to")] = None,
        limit: Annotated[int, QueryParameter(ge=1, le=1000)] = 200,
    ) -> EdoDocumentList:
        answer = await _ask(
            gateway,
            GetEdoStatus(
                correlation_id=uuid.uuid4(),
                occurred_at=gateway.service.clock.now(),
                edo_status=status,
                partner_id=partner_id,
                date_from=date_from,
                date_to=date_to,
                limit=limit,
            ),
            EdoStatus,
            "retry shortly",
        )
        return EdoDocumentList(items=[_edo_read(d) for d in answer.documents])

    @get("/edo/{number:str}", summary="One document's EDO state")
    async def edo_document(
        self, number: FromPath[str], gateway: NamedDependency[Gateway]
    ) -> EdoDocumentRead:
        answer = await _ask(
            gateway,
            GetEdoStatus(
                correlation_id=uuid.uuid4(),
                occurred_at=gateway.service.clock.now(),
                number=number,
                limit=1,
            ),
            EdoStatus,
            "retry shortly",
        )
        if not answer.documents:
            raise ApiError(404, "not_found", "document not found")
        return _edo_read(answer.documents[0])

    @post(
        "/edo/{number:str}/resend",
        status_code=202,
        summary="Hand a closed document to the EDO operator again (409 while its day is open)",
    )
    async def resend(
        self, number: FromPath[str], gateway: NamedDependency[Gateway]
    ) -> EdoResendRead:
        answer = await _ask(
            gateway,
            ResendDocument(
                correlation_id=uuid.uuid4(), occurred_at=gateway.service.clock.now(), number=number
            ),
            DocumentResent,
            "the resend may have been queued; asking again is safe",
        )
        if not answer.found:
            raise ApiError(404, "not_found", "document not found")
        if not answer.queued:
            raise ApiError(
                409,
                answer.reason or "document_not_closed",
                "the document's day is not closed yet: it goes to EDO when it closes",
            )
        return EdoResendRead(
            number=number, queued=answer.queued, previous_status=answer.previous_status
        )


ROUTES: list[type] = [FinanceController]
