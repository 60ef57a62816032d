"""The Grafana dashboard queries only series that esd exports, and shows the ones issue 10 names."""

from __future__ import annotations

import json
import re

from esd_platform import observability

from tests.deploy.known import ROOT

DASHBOARD = ROOT / "deploy/grafana/dashboards/esd.json"

FASTSTREAM = {
    "faststream_received_messages_total",
    "faststream_received_processed_messages_total",
    "faststream_received_processed_messages_duration_seconds",
    "faststream_received_processed_messages_exceptions_total",
    "faststream_published_messages_total",
    "faststream_published_messages_duration_seconds",
}
LITESTAR = {  # PrometheusConfig(prefix="esd_http") in observability.litestar_metrics
    "esd_http_requests_total",
    "esd_http_request_duration_seconds",
    "esd_http_requests_in_progress",
    "esd_http_requests_error_total",
}


def exported() -> set[str]:
    ours = {
        metric._name
        for metric in vars(observability).values()
        if hasattr(metric, "_name") and str(getattr(metric, "_name", "")).startswith("esd_")
    }
    return ours | FASTSTREAM | LITESTAR


def series(expr: str) -> set[str]:
    names = set(re.findall(r"\b((?:esd|faststream)_[a-z_]+)", expr))
    return {re.sub(r"_(bucket|count|sum)$", "", n) for n in names}


def test_dashboard_queries_only_exported_series() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    used: set[str] = set()
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            used |= series(target["expr"])
    unknown = used - exported()
    assert not unknown, f"the dashboard queries series nobody exports: {sorted(unknown)}"
    # what issue 10 asks to see: saga duration by outcome, queue lag, outbox backlog, stock,
    # vendor circuits, handler and HTTP metrics
    for wanted in (
        "esd_saga_duration_seconds",
        "esd_queue_messages",
        "esd_outbox_backlog",
        "esd_key_stock",
        "esd_vendor_circuit_state",
        "faststream_received_processed_messages_total",
        "esd_http_requests_total",
    ):
        assert wanted in used, wanted


def test_dashboard_is_provisioned_from_its_folder() -> None:
    provider = (ROOT / "deploy/grafana/provisioning/dashboards/esd.yml").read_text()
    assert "/var/lib/grafana/dashboards" in provider
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "esd-operations"
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
