"""How messages reach the catalog's use cases (FastStream routers)."""
