"""Partners context (owned by the gateway): applications, partners, API keys."""
