"""The partner portal: server-rendered pages on the same gateway (being built)."""

from __future__ import annotations

from litestar.template import TemplateConfig

ROUTES: list[type] = []


def template_config() -> TemplateConfig | None:  # type: ignore[type-arg]
    """The portal's templates; None while it has none."""
    return None
