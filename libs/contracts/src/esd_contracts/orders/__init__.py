"""Orders context: intake and the order saga."""
