"""What the deployment files must agree with: the services, their entry points, ESD_* names."""

from __future__ import annotations

import tomllib
from pathlib import Path

from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "deploy" / "schemas"

BACKEND = ("catalog", "orders", "credit", "keys", "billing")
"""Services that run as their own processes; the gateway is the seventh with the vendor stub."""

EXTRA_ENV = {"ESD_GATEWAY_URL"}  # read by the operations CLI (esd_cli), not by a settings class


def entry_points() -> dict[str, str]:
    """``esd-orders`` → ``orders``: the console scripts the image provides, by service."""
    scripts: dict[str, str] = {}
    for manifest in (ROOT / "services").glob("*/pyproject.toml"):
        project = tomllib.loads(manifest.read_text())["project"]
        for script in project.get("scripts", {}):
            scripts[script] = manifest.parent.name
    return scripts


def settings_env_names() -> set[str]:
    """Every ``ESD_*`` variable some settings class of esd reads."""
    from billing.settings import BillingSettings
    from catalog.settings import CatalogSettings
    from esd_platform.observability import MetricsSettings
    from esd_platform.settings import PlatformSettings
    from gateway.settings import GatewaySettings
    from keys.settings import KeysSettings

    classes: tuple[type[BaseSettings], ...] = (
        PlatformSettings,
        MetricsSettings,
        GatewaySettings,
        KeysSettings,
        CatalogSettings,
        BillingSettings,
    )
    names = set(EXTRA_ENV)
    for cls in classes:
        prefix = str(cls.model_config.get("env_prefix", ""))
        names.update(f"{prefix}{field}".upper() for field in cls.model_fields)
    return names
