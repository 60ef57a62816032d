"""The CLI's bus commands against the services that answer them: a bank statement to credit,
a finance replay to billing (request/reply, as the gateway asks)."""

from __future__ import annotations

from datetime import date

import pytest
from billing.bootstrap import build_service as build_billing
from credit.bootstrap import build_service as build_credit
from esd_cli import ops
from esd_platform.messaging import declare_topology, make_broker
from esd_platform.testing import isolated_settings

from tests.deploy.known import ROOT

pytestmark = pytest.mark.integration

STATEMENT = ROOT / "services/credit/tests/fixtures/statement_1_03.txt"
CONTENT = STATEMENT.read_bytes()


async def test_bank_statement_and_finance_replay_over_the_bus() -> None:
    async with isolated_settings() as settings:
        credit = build_credit(settings)
        billing = build_billing(settings)
        await credit.start()
        await billing.start()
        try:
            posted = await ops.post_bank_statement(settings, CONTENT, STATEMENT.name, wait=30)
            # no partner exists on this fresh database: every payment is read, none matched
            assert posted["payments"]
            assert all(p["partner_id"] is None for p in posted["payments"])
            assert posted["problems"]
            again = await ops.post_bank_statement(settings, CONTENT, wait=30)
            assert [p["number"] for p in again["payments"]] == [
                p["number"] for p in posted["payments"]
            ]

            replayed = await ops.replay_finance(
                settings, date(2026, 1, 1), date(2026, 12, 31), wait=30
            )
            assert replayed["lines"] == 0
            assert replayed["closed"] == 0
            assert replayed["date_from"] == "2026-01-01"
        finally:
            await billing.stop()
            await credit.stop()


async def test_an_unanswered_query_is_reported_not_hung() -> None:
    async with isolated_settings() as settings:
        # nothing declared on this vhost yet: a clear error, not a traceback
        with pytest.raises(ops.OpsError) as undeclared:
            await ops.replay_finance(settings, date(2026, 1, 1), date(2026, 1, 2), wait=1)
        assert "billing.commands" in str(undeclared.value)
        # the topology exists but no billing worker consumes: a timeout, reported
        broker = make_broker(settings, "ops-test")
        await broker.connect()
        await declare_topology(broker)
        await broker.stop()
        with pytest.raises(ops.OpsError) as unanswered:
            await ops.replay_finance(settings, date(2026, 1, 1), date(2026, 1, 2), wait=1)
        assert "did not answer" in str(unanswered.value)
