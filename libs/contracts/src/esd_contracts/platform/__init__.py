"""Platform context: messages every service hears (e.g. the test clock)."""
