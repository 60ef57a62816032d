"""Ops: finance feed replay and other billing operations."""

from __future__ import annotations

ROUTES: list[type] = []
