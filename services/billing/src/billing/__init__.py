"""esd billing service."""
