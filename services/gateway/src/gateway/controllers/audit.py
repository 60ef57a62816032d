"""The audit log of ops actions over HTTP (being built; registered here already)."""

from __future__ import annotations

ROUTES: list[type] = []
