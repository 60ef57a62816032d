"""HTTP bodies of ops' partner settings and the audit log (msgspec)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec


class ContractSigned(msgspec.Struct, kw_only=True):
    number: Annotated[str, msgspec.Meta(min_length=1, max_length=100, description="Contract No.")]
    date: Annotated[dt.date, msgspec.Meta(description="Date of signature, YYYY-MM-DD")]


class ApprovalOptions(msgspec.Struct, kw_only=True):
    """Optional body of an approval; an empty body approves with the defaults."""

    official: Annotated[
        bool,
        msgspec.Meta(
            description="An official (authorised) partner of the distributor: its EDO is free"
        ),
    ] = False


class RateLimitUpdate(msgspec.Struct, kw_only=True):
    per_minute: (
        Annotated[
            int, msgspec.Meta(ge=1, le=1_000_000, description="Requests a minute for this partner")
        ]
        | None
    )


class AuditEntry(msgspec.Struct):
    seq: int
    at: dt.datetime
    actor: Annotated[str, msgspec.Meta(description="ops:<token fingerprint>, never the token")]
    action: str
    target: str | None
    method: str
    path: str
    status: int
    summary: dict[str, Any]


class AuditPage(msgspec.Struct):
    items: list[AuditEntry]
    next_cursor: str | None


class MailRead(msgspec.Struct):
    id: str
    kind: str
    recipient: str
    subject: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime
    last_error: str | None
    sent_at: dt.datetime | None
    transport: str | None
    created_at: dt.datetime


class MailList(msgspec.Struct):
    items: list[MailRead]
