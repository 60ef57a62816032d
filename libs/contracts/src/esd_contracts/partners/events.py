"""Events about partners, published by the gateway, which owns partner identity."""

from __future__ import annotations

import uuid
from typing import ClassVar

from pydantic import Field

from esd_contracts.envelope import Event, Money


class PartnerRegistered(Event):
    """Ops approved an application: a partner exists, with the default or its distributor's terms.

    ``correlation_id`` is the partner id.
    """

    CONTEXT: ClassVar[str] = "partners"

    partner_id: uuid.UUID = Field(description="The new partner's id")
    reseller_id: str = Field(description="Human reseller id, e.g. 'R-000123'")
    company_name: str = Field(description="Legal name of the partner")
    inn: str = Field(description="Taxpayer id (ИНН), 10 or 12 digits")
    kpp: str | None = Field(default=None, description="КПП of a legal entity, if any")
    credit_limit: Money = Field(description="Initial credit limit, RUB")
    term_days: int = Field(description="Initial payment term, calendar days")
    official: bool = Field(
        default=False,
        description="An official (authorised) partner of the distributor: its documents' EDO "
        "transmission is free of charge (billing marks it so); others carry the operator's fee",
    )
