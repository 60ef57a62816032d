"""The ops finance replay's period rules, without a running platform."""

from __future__ import annotations

import datetime as dt

import msgspec
import pytest
from gateway.controllers.finance import MAX_REPLAY_DAYS, _period
from gateway.http.errors import ApiError
from gateway.http.finance_schemas import FinanceReplay


def body(raw: str) -> FinanceReplay:
    return msgspec.json.decode(raw.encode(), type=FinanceReplay, strict=True)


class TestReplayPeriod:
    def test_from_and_to_as_given(self) -> None:
        assert _period(body('{"from": "2026-03-01", "to": "2026-03-31"}')) == (
            dt.date(2026, 3, 1),
            dt.date(2026, 3, 31),
        )

    def test_to_defaults_to_from(self) -> None:
        assert _period(body('{"from": "2026-03-01"}')) == (dt.date(2026, 3, 1),) * 2

    def test_a_document_alone_stands_for_its_year(self) -> None:
        assert _period(body('{"document": "ESD-2027-000042"}')) == (
            dt.date(2027, 1, 1),
            dt.date(2027, 12, 31),
        )

    @pytest.mark.parametrize(
        "raw",
        [
            '{"from": "2026-03-02", "to": "2026-03-01"}',  # backwards
            '{"from": "2025-01-01", "to": "2026-01-02"}',  # more than a year
            "{}",  # nothing to replay
            '{"document": "not-a-number"}',  # no year to take the period from
        ],
    )
    def test_bad_periods_are_422_validation_error(self, raw: str) -> None:
        with pytest.raises(ApiError) as refused:
            _period(body(raw))
        assert (refused.value.status, refused.value.code) == (422, "validation_error")

    def test_a_full_year_is_allowed(self) -> None:
        start = dt.date(2026, 1, 1)
        end = start + dt.timedelta(days=MAX_REPLAY_DAYS - 1)
        assert _period(body(f'{{"from": "{start}", "to": "{end}"}}')) == (start, end)

    def test_unknown_fields_are_refused(self) -> None:
        with pytest.raises(msgspec.ValidationError):
            body('{"from": "2026-03-01", "until": "2026-03-02"}')
