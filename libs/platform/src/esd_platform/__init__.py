"""The runtime every esd service shares: one way to configure, log, tell time and message."""
