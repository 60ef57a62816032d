"""Webhooks: the partner's delivery log and redelivery of signed order callbacks."""

from __future__ import annotations

ROUTES: list[type] = []
