"""The service's clock. Domain code takes time from here, never from ``datetime.now()``.

In ``ESD_ENV=test`` the clock can be moved (``ClockSet`` on the bus); it then keeps running
from the time it was set to.
"""

from __future__ import annotations

import time
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

MOSCOW = ZoneInfo("Europe/Moscow")


class Clock:
    """Real time plus an offset that only the test clock ever sets."""

    def __init__(self) -> None:
        self._offset = timedelta(0)

    def now(self) -> datetime:
        """Aware UTC now, as this service sees it."""
        return datetime.fromtimestamp(time.time(), UTC) + self._offset

    def today_moscow(self) -> date:
        """The calendar day in Europe/Moscow, which names documents and due dates."""
        return moscow_day(self.now())

    def set(self, now: datetime) -> None:
        """Make ``now()`` read ``now`` from this moment on (test clock)."""
        if now.tzinfo is None:
            raise ValueError("the clock takes aware datetimes only")
        self._offset = now - datetime.fromtimestamp(time.time(), UTC)

    @property
    def offset(self) -> timedelta:
        return self._offset


def moscow_day(moment: datetime) -> date:
    """The Europe/Moscow calendar day of an aware moment."""
    return moment.astimezone(MOSCOW).date()
