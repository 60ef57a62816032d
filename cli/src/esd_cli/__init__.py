"""The esd command line: run the platform, operate it."""
