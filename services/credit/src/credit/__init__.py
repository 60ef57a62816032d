"""esd credit service."""
