"""esd gateway service."""
