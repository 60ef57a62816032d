"""EDO for official partners is marked free: on the document's EDO record (ops) and in its UPD;
another partner's documents carry the operator's tariff."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from billing.domain.documents import MOSCOW
from esd_contracts.billing.queries import DocumentUpd, EdoStatus, GetDocumentUpd, GetEdoStatus
from esd_contracts.partners.events import PartnerRegistered
from esd_platform.testing import wait_for

from .conftest import Harness, shipment

pytestmark = pytest.mark.integration


async def registered(harness: Harness, *, official: bool) -> uuid.UUID:
    partner = uuid.uuid4()
    await harness.publish(
        PartnerRegistered(
            correlation_id=partner,
            occurred_at=datetime(2026, 1, 1, tzinfo=UTC),
            partner_id=partner,
            reseller_id="R-000900",
            company_name="ООО «Официальный»" if official else "ООО «Обычный»",
            inn="7707083893",
            kpp="773601001",
            credit_limit=Decimal("50000.00"),
            term_days=15,
            official=official,
        )
    )

    async def known() -> bool:
        return bool(await harness.sql("SELECT 1 FROM partners WHERE partner_id = :p", p=partner))

    await wait_for(known, what="partner registered")
    return partner


async def test_official_partners_edo_is_free_and_others_pay_the_tariff(harness: Harness) -> None:
    marks = {}
    for official in (True, False):
        partner = await registered(harness, official=official)
        recorded = await harness.ship(shipment(partner, datetime(2026, 10, 5, 12, tzinfo=MOSCOW)))
        number = recorded["document_number"]
        now = datetime.now(UTC)
        [state] = (
            await harness.request(
                GetEdoStatus(correlation_id=partner, occurred_at=now, number=number),
                EdoStatus,
            )
        ).documents
        upd = await harness.request(
            GetDocumentUpd(
                correlation_id=partner, occurred_at=now, partner_id=partner, number=number
            ),
            DocumentUpd,
        )
        assert upd.xml is not None
        marks[official] = (state.edo_free, "бесплатно (официальный партнёр)" in upd.xml)
        assert ("по тарифу оператора ЭДО" in upd.xml) is not official
    assert marks == {True: (True, True), False: (False, False)}
