"""insight commands (filled in by the insight stage)."""

from __future__ import annotations
