"""Keys context: licence keys from vendors. Plain keys never travel in events."""
