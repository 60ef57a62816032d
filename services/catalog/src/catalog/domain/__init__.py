"""The catalog's pure domain: products, vendors, categories and their rules (no I/O)."""
