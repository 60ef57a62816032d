"""E-mail to partners: the mail outbox table and the two ways a mail leaves.

A mail is a row of ``mail_outbox`` written with :func:`queue_mail` on the caller's connection,
i.e. in the same transaction as the decision it reports; the relay
(:mod:`gateway.service_layer.mail_relay`) sends it later. Its id is its identity: the
``Message-ID`` header over SMTP and the file name in a drop folder, so a resend after a crash
is recognisably the same mail and the drop never holds two copies.

Transports: SMTP to a configured server (``ESD_SMTP_HOST`` …), or, when none is configured
(the embedded run, a developer's machine), ``.eml`` files dropped into ``ESD_MAIL_DROP_DIR``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from pathlib import Path
from typing import Any, Protocol

import aiosmtplib
from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Row, text
from sqlalchemy.ext.asyncio import AsyncConnection


class MailSettings(BaseSettings):
    """Where partners' mail goes (``ESD_*``)."""

    model_config = SettingsConfigDict(env_prefix="ESD_", extra="ignore")

    smtp_host: str = Field(default="", description="SMTP server; empty = drop .eml files")
    smtp_port: int = Field(default=25, ge=1, le=65535, description="SMTP port")
    smtp_user: str = Field(default="", description="SMTP login (empty = no AUTH)")
    smtp_password: SecretStr = Field(default=SecretStr(""), description="SMTP password")
    smtp_from: str = Field(default="esd <noreply@esd.local>", description="From: of our mail")
    smtp_starttls: bool | None = Field(
        default=None, description="STARTTLS: None = when the server offers it"
    )
    smtp_timeout: float = Field(default=15.0, gt=0, description="Seconds per SMTP exchange")
    mail_drop_dir: Path = Field(
        default=Path("var/mail"), description="Folder of .eml files when no SMTP is configured"
    )
    mail_enabled: bool = Field(default=True, description="Run the mail relay in this process")
    mail_poll_interval: float = Field(default=1.0, gt=0, description="Seconds between looks")
    mail_backoff_base: float = Field(
        default=30.0, gt=0, description="Seconds before the first retry; doubles per failure"
    )
    mail_backoff_cap: float = Field(default=3600.0, gt=0, description="Longest pause, seconds")
    mail_max_attempts: int = Field(default=12, ge=1, description="Attempts before giving up")
    mail_batch: int = Field(default=20, ge=1, description="Mails sent per round")


# -- the table ------------------------------------------------------------------------------


async def queue_mail(
    conn: AsyncConnection,
    *,
    recipient: str,
    subject: str,
    body: str,
    kind: str,
    at: datetime,
    mail_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Stage one mail in the caller's transaction; it is sent only if that commits.

    ``mail_id`` makes queueing itself idempotent (a second call with the same id is a no-op);
    derive it from the business id (``uuid5(application_id, "approved")``) where a retry of
    the caller could queue the mail twice."""
    mail_id = mail_id or uuid.uuid4()
    await conn.execute(
        text(
            "INSERT INTO mail_outbox (id, kind, recipient, subject, body, next_attempt_at, "
            "created_at) VALUES (:id, :kind, :recipient, :subject, :body, :at, :at) "
            "ON CONFLICT (id) DO NOTHING"
        ),
        {
            "id": mail_id,
            "kind": kind,
            "recipient": recipient,
            "subject": subject,
            "body": body,
            "at": at,
        },
    )
    return mail_id


_CLAIM = text(
    """
    UPDATE mail_outbox SET claim_id = :claim, next_attempt_at = :lease_until
    WHERE id IN (
        SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= :now
        ORDER BY next_attempt_at LIMIT :batch FOR UPDATE SKIP LOCKED
    )
    RETURNING *
    """
)


async def claim_due(
    conn: AsyncConnection, now: datetime, lease: timedelta, claim: uuid.UUID, batch: int
) -> list[Row[Any]]:
    """Lease due mails to this relay run: another relay skips them until the lease ends."""
    params = {"claim": claim, "lease_until": now + lease, "now": now, "batch": batch}
    return list((await conn.execute(_CLAIM, params)).all())


async def record_sent(
    conn: AsyncConnection, mail_id: uuid.UUID, claim: uuid.UUID, at: datetime, transport: str
) -> bool:
    result = await conn.execute(
        text(
            "UPDATE mail_outbox SET status = 'sent', sent_at = :at, attempts = attempts + 1, "
            "transport = :transport, last_error = NULL, claim_id = NULL "
            "WHERE id = :id AND claim_id = :claim AND status = 'pending'"
        ),
        {"id": mail_id, "claim": claim, "at": at, "transport": transport},
    )
    return bool(result.rowcount)


async def record_failure(
    conn: AsyncConnection,
    mail_id: uuid.UUID,
    claim: uuid.UUID,
    error: str,
    next_attempt_at: datetime | None,
) -> None:
    """A failed attempt: due again at ``next_attempt_at``, or failed for good when None."""
    await conn.execute(
        text(
            "UPDATE mail_outbox SET attempts = attempts + 1, last_error = :error, "
            "claim_id = NULL, status = CASE WHEN CAST(:next AS timestamptz) IS NULL "
            "THEN 'failed' ELSE 'pending' END, "
            "next_attempt_at = coalesce(CAST(:next AS timestamptz), next_attempt_at) "
            "WHERE id = :id AND claim_id = :claim"
        ),
        {"id": mail_id, "claim": claim, "error": error[:500], "next": next_attempt_at},
    )


async def list_mail(conn: AsyncConnection, status: str | None, limit: int) -> list[Row[Any]]:
    """Newest first, for ops (what was sent, what is waiting, what failed and why)."""
    sql = "SELECT * FROM mail_outbox"
    params: dict[str, Any] = {"limit": limit}
    if status:
        sql += " WHERE status = :status"
        params["status"] = status
    sql += " ORDER BY created_at DESC, id LIMIT :limit"
    return list((await conn.execute(text(sql), params)).all())


async def retry_now(conn: AsyncConnection, mail_id: uuid.UUID, at: datetime) -> Row[Any] | None:
    """A failed (or waiting) mail due again now, with a fresh count of attempts."""
    return (
        await conn.execute(
            text(
                "UPDATE mail_outbox SET status = 'pending', attempts = 0, next_attempt_at = :at, "
                "claim_id = NULL WHERE id = :id AND status <> 'sent' RETURNING *"
            ),
            {"id": mail_id, "at": at},
        )
    ).first()


# -- the message and its transports ---------------------------------------------------------


def build_message(row: Row[Any], sender: str) -> EmailMessage:
    """The RFC 5322 message of a mail row; the same bytes at every attempt but the Date."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = row.recipient
    message["Subject"] = row.subject
    message["Date"] = format_datetime(row.created_at)
    domain = sender.rpartition("@")[2].rstrip(">").strip() or "esd.local"
    message["Message-ID"] = f"<{row.id}@{domain}>"
    message["X-Esd-Mail-Id"] = str(row.id)
    message.set_content(row.body)
    return message


class MailTransport(Protocol):
    name: str

    async def send(self, mail_id: uuid.UUID, message: EmailMessage) -> None:
        """Deliver or raise; called again with the same id and message after a failure."""


class SmtpTransport:
    """SMTP to the configured server (aiosmtplib), STARTTLS when offered, AUTH when set."""

    name = "smtp"

    def __init__(self, settings: MailSettings) -> None:
        self._settings = settings

    async def send(self, mail_id: uuid.UUID, message: EmailMessage) -> None:
        s = self._settings
        password = s.smtp_password.get_secret_value()
        await aiosmtplib.send(
            message,
            hostname=s.smtp_host,
            port=s.smtp_port,
            username=s.smtp_user or None,
            password=password if s.smtp_user else None,
            start_tls=s.smtp_starttls,
            timeout=s.smtp_timeout,
        )


class FileDropTransport:
    """``<mail id>.eml`` files in a folder: written under a temporary name and renamed, so a
    reader never sees half a mail, and a second send of one id finds the file and stops."""

    name = "file"

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def path_of(self, mail_id: uuid.UUID) -> Path:
        return self.folder / f"{mail_id}.eml"

    async def send(self, mail_id: uuid.UUID, message: EmailMessage) -> None:
        await asyncio.to_thread(self._write, mail_id, bytes(message))

    def _write(self, mail_id: uuid.UUID, data: bytes) -> None:
        final = self.path_of(mail_id)
        if final.exists():
            return
        self.folder.mkdir(parents=True, exist_ok=True)
        partial = self.folder / f".{mail_id}.{make_msgid().strip('<>')}.tmp"
        with partial.open("wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(partial, final)


def transport_for(settings: MailSettings) -> MailTransport:
    """SMTP when a server is configured, else the drop folder."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return FileDropTransport(settings.mail_drop_dir)
