"""The partner portal: server-rendered pages on the same gateway, under ``/portal``.

Pages call the service layer the API's controllers call; the partner comes from a session
cookie instead of an API key (see :mod:`gateway.portal.auth`). Templates are Jinja2 (autoescaped),
the live parts use htmx (a static file served from here), Russian by default with English.
"""

from __future__ import annotations

from pathlib import Path

from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig

from gateway.portal.ops import OpsPages
from gateway.portal.pages import PartnerPages
from gateway.portal.public import PublicPages

TEMPLATES = Path(__file__).parent / "templates"

ROUTES: list[type] = [PublicPages, PartnerPages, OpsPages]


def template_config() -> TemplateConfig:  # type: ignore[type-arg]
    """The portal's Jinja2 templates."""
    return TemplateConfig(directory=TEMPLATES, engine=JinjaTemplateEngine)
