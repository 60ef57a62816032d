"""Schemathesis against the gateway's own ``/schema`` with every service running: for every
operation, generated requests (JSON, and XML where the operation takes a body) never get a
5xx, and every answer matches the schema.

Cases are generated first (hypothesis, no I/O), then sent through the in-loop client and
checked with Schemathesis's own checks. The test clock endpoint is left out (a random move of
the time would move it for every service); ops endpoints are called with the ops token,
everything else with a partner's key.
"""

from __future__ import annotations

import os
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Ok
from schemathesis.openapi import from_dict
from schemathesis.specs.openapi.checks import response_schema_conformance

from tests.support import OPS, Platform

pytestmark = [pytest.mark.integration, pytest.mark.slow]

EXAMPLES = int(os.environ.get("ESD_SCHEMATHESIS_EXAMPLES", "4"))
SKIPPED = ("/api/v1/admin/clock",)


def _cases(operation: Any) -> list[Any]:
    found: list[Any] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def collect(case: Any) -> None:
        found.append(case)

    collect()
    return found


async def test_no_5xx_and_every_answer_matches_the_schema(platform: Platform) -> None:
    partner = await platform.new_partner(live=True)
    document = (await platform.client.get("/schema/openapi.json")).json()
    schema = from_dict(document)
    failures: list[str] = []
    sent = 0
    operations: set[str] = set()
    xml_bodies = 0
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        path = operation.path
        if path.startswith(SKIPPED):
            continue
        auth = OPS if path.startswith("/api/v1/admin") else partner.headers
        for case in _cases(operation):
            kwargs = case.as_transport_kwargs(base_url="http://gateway.test")
            headers = {**(kwargs.get("headers") or {}), **auth}
            try:
                response = await platform.client.request(
                    kwargs["method"],
                    kwargs["url"],
                    params=kwargs.get("params"),
                    headers=headers,
                    content=_content(kwargs),
                    cookies=kwargs.get("cookies") or None,  # {} would warn in httpx 0.28
                    follow_redirects=False,
                )
            except httpx.HTTPError as error:
                failures.append(f"{operation.label}: {type(error).__name__}")
                continue
            sent += 1
            operations.add(operation.label)
            xml_bodies += "xml" in str(headers.get("Content-Type", headers.get("content-type", "")))
            try:
                case.validate_response(
                    response, checks=[not_a_server_error, response_schema_conformance]
                )
            except BaseException as error:
                failures.append(f"{operation.label} → {response.status_code}: {error!s:.300}")
                break
    print(f"schemathesis: {sent} requests, {len(operations)} operations, {xml_bodies} XML bodies")
    assert len(operations) > 40
    assert failures == []


def _content(kwargs: dict[str, Any]) -> bytes | None:
    if kwargs.get("json") is not None:
        import json

        return json.dumps(kwargs["json"]).encode()
    data = kwargs.get("data") or kwargs.get("content")
    if data is None:
        return None
    return data if isinstance(data, bytes) else str(data).encode()
