"""Root fixtures shared by every test package."""

from __future__ import annotations

import os

os.environ.setdefault("ESD_ENV", "test")
