"""esd keys service."""
