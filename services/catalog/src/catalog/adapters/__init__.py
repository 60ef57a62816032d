"""The catalog's adapters: SQL on its own schema (the connection's search_path)."""
