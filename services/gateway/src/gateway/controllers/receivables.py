"""Ops: payments, bank statements, balances at a moment and the receivables report."""

from __future__ import annotations

ROUTES: list[type] = []
