"""Mail to partners: queue it with the decision, send it from the outbox.

Other gateway code queues a mail with :func:`queue_mail` on its own transaction's connection
(so the mail exists exactly when the decision is committed), or with :func:`send_later` when it
has no transaction of its own. The :class:`MailRelay` (one per gateway process, started with
the app) leases due rows with ``FOR UPDATE SKIP LOCKED``, hands each to the transport and
records the result; a failure is retried with exponential backoff up to
``mail_max_attempts``. A mail is marked sent only after the transport took it, so a crash in
between resends it — with the same ``Message-ID`` (SMTP) or onto the same file (drop folder),
which is how "no double send" holds for the drop and how mail clients fold the rare SMTP
duplicate.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from datetime import datetime, timedelta

from esd_platform.logging import get_logger
from esd_platform.service import Service

from gateway.adapters import mail as store
from gateway.adapters.mail import MailSettings, MailTransport, build_message, transport_for

queue_mail = store.queue_mail
"""``queue_mail(conn, recipient=, subject=, body=, kind=, at=, mail_id=None)``: stage a mail
in the caller's transaction (re-exported for callers outside the mail module)."""

log = get_logger("esd.gateway.mail")


async def send_later(
    service: Service,
    *,
    recipient: str,
    subject: str,
    body: str,
    kind: str,
    mail_id: uuid.UUID | None = None,
) -> uuid.UUID:
    """Queue a mail in a transaction of its own (for callers without one)."""
    async with service.engine.begin() as conn:
        return await queue_mail(
            conn,
            recipient=recipient,
            subject=subject,
            body=body,
            kind=kind,
            at=service.clock.now(),
            mail_id=mail_id,
        )


class MailRelay:
    """Background sender of the mail outbox; several gateway processes may run one each."""

    def __init__(
        self, service: Service, settings: MailSettings, transport: MailTransport | None = None
    ) -> None:
        self._service = service
        self._settings = settings
        self.transport = transport or transport_for(settings)
        self._lease = timedelta(seconds=settings.smtp_timeout * 2 + 30)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if not self._settings.mail_enabled or self._task is not None:
            return
        self._task = asyncio.create_task(self._run(), name="gateway-mail-relay")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            try:
                sent = await self.relay_once()
            except asyncio.CancelledError:
                raise
            except Exception:  # the loop must outlive a database hiccup
                log.exception("mail relay round failed")
                sent = 0
            if sent < self._settings.mail_batch:
                await asyncio.sleep(self._settings.mail_poll_interval)

    def next_attempt(self, now: datetime, attempts_so_far: int) -> datetime | None:
        """When to try again after the ``attempts_so_far + 1``-th failure (None: give up)."""
        if attempts_so_far + 1 >= self._settings.mail_max_attempts:
            return None
        pause = min(
            self._settings.mail_backoff_base * 2**attempts_so_far, self._settings.mail_backoff_cap
        )
        return now + timedelta(seconds=pause)

    async def relay_once(self) -> int:
        """Lease the due mails, send them one by one, record each result."""
        now = self._service.clock.now()
        claim = uuid.uuid4()
        async with self._service.engine.begin() as conn:
            rows = await store.claim_due(conn, now, self._lease, claim, self._settings.mail_batch)
        for row in rows:
            context = {"mail_id": str(row.id), "mail_kind": row.kind}
            try:
                await self.transport.send(row.id, build_message(row, self._settings.smtp_from))
            except Exception as exc:  # any failure to hand over is a failed attempt
                error = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
                retry_at = self.next_attempt(self._service.clock.now(), row.attempts)
                async with self._service.engine.begin() as conn:
                    await store.record_failure(conn, row.id, claim, error, retry_at)
                log.warning(
                    "mail attempt failed",
                    error=error[:200],
                    retry_at=retry_at.isoformat() if retry_at else None,
                    **context,
                )
                continue
            async with self._service.engine.begin() as conn:
                await store.record_sent(
                    conn, row.id, claim, self._service.clock.now(), self.transport.name
                )
            log.info("mail sent", transport=self.transport.name, **context)
        return len(rows)
