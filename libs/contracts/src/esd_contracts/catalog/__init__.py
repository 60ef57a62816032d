"""Catalog context: vendors and products."""
