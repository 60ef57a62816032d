"""Platform-wide events."""

from __future__ import annotations

from typing import ClassVar

from pydantic import AwareDatetime, Field

from esd_contracts.envelope import Event


class ClockSet(Event):
    """ESD_ENV=test only: every service's clock now reads ``now`` (offset from real time)."""

    CONTEXT: ClassVar[str] = "platform"

    now: AwareDatetime = Field(description="The time every service sees from this moment")
