"""Ops: key pools, stock levels and vendor health, from the keys service."""

from __future__ import annotations

ROUTES: list[type] = []
