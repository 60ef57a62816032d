"""HTTP bodies of the ops finance endpoints (finance feed replay, EDO state and resend)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated

import msgspec


class FinanceReplay(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """Re-emit the finance events of documents dated in [from, to]; or of one document."""

    date_from: Annotated[
        dt.date | None, msgspec.Meta(description="First document date (Moscow), inclusive")
    ] = msgspec.field(name="from", default=None)
    date_to: Annotated[
        dt.date | None, msgspec.Meta(description="Last document date, inclusive; default: from")
    ] = msgspec.field(name="to", default=None)
    document: Annotated[
        str | None,
        msgspec.Meta(description="Only this document, e.g. 'ESD-2026-000123' (dates optional)"),
    ] = None
    partner_id: Annotated[
        uuid.UUID | None, msgspec.Meta(description="Only this partner's documents")
    ] = None


class FinanceReplayRead(msgspec.Struct):
    date_from: dt.date = msgspec.field(name="from")
    date_to: dt.date = msgspec.field(name="to")
    lines: Annotated[int, msgspec.Meta(description="DocumentLineAdded events re-emitted")]
    closed: Annotated[int, msgspec.Meta(description="DocumentClosed events re-emitted")]
    document: str | None = None
    partner_id: uuid.UUID | None = None
    charges: Annotated[int, msgspec.Meta(description="SubscriptionCharged events re-emitted")] = 0
    receivables: Annotated[
        int,
        msgspec.Meta(
            description="Payment, allocation, block and unblock events re-emitted (credit)"
        ),
    ] = 0


class EdoDocumentRead(msgspec.Struct):
    number: str
    partner_id: uuid.UUID
    date: dt.date
    closed: Annotated[bool, msgspec.Meta(description="Only closed documents go to EDO")]
    edo_status: Annotated[
        str | None, msgspec.Meta(description="null (not sent), sent, delivered or rejected")
    ]
    edo_file: str | None
    edo_message: Annotated[str | None, msgspec.Meta(description="The operator's reason")]
    edo_updated_at: dt.datetime | None
    edo_free: Annotated[
        bool, msgspec.Meta(description="EDO free of charge: the buyer is an official partner")
    ] = False


class EdoDocumentList(msgspec.Struct):
    items: list[EdoDocumentRead]


class EdoResendRead(msgspec.Struct):
    number: str
    queued: Annotated[bool, msgspec.Meta(description="It goes to the operator on the next pass")]
    previous_status: str | None
