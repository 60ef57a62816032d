"""esd catalog service."""
