"""esd partner API client."""
