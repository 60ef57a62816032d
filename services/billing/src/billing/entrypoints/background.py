"""The billing service's clockwork: charge finished months of subscriptions, close finished
days, deliver and track EDO documents.

Runs every ``tick_seconds`` in each billing process; several processes share the work safely
(every step claims its rows with ``FOR UPDATE SKIP LOCKED``). Time is the service clock's, so the
test clock (``ClockSet``) closes days too.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from esd_platform.logging import get_logger
from esd_platform.service import Service

from billing.adapters.edo import EdoOperator
from billing.domain.documents import closing_cutoff
from billing.service_layer import closing, edo, subscriptions
from billing.service_layer.issuer import Issuer
from billing.settings import BillingSettings

log = get_logger("esd.billing.background")


class Clockwork:
    def __init__(
        self,
        service: Service,
        settings: BillingSettings,
        issuer: Issuer,
        operator: EdoOperator | None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.issuer = issuer
        self.operator = operator
        self._task: asyncio.Task[None] | None = None

    async def tick(self) -> None:
        """One pass: close what is due, send what is closed, record what the operator says."""
        uow = self.service.uow
        grace = timedelta(seconds=self.settings.close_grace_seconds)
        cutoff = closing_cutoff(self.service.clock.now(), grace)
        # months first: a month's charge lands on its last day's document before that closes
        try:
            await subscriptions.charge_months(uow, cutoff)
        except Exception:
            log.exception("subscription_charging_failed")
        await closing.close_days(uow, cutoff)
        if self.operator is not None:
            await edo.send_closed(uow, self.issuer, self.operator)
            await edo.track_sent(uow, self.operator)

    async def _run(self) -> None:
        while True:
            try:
                await self.tick()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("billing_clockwork_failed")
            await asyncio.sleep(self.settings.tick_seconds)

    async def start(self, _: Service) -> None:
        self._task = asyncio.create_task(self._run(), name="billing-clockwork")

    async def stop(self, _: Service) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
