"""esd orders service."""
