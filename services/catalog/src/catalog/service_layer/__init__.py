"""Use cases of the catalog: each runs in one unit-of-work transaction with its events."""
