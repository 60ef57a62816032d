"""Billing context: daily shipping documents, EDO, finance events."""
