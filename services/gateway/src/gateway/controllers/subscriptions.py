"""Subscriptions over HTTP (being built; registered so the area grows on its own)."""

from __future__ import annotations

ROUTES: list[type] = []
