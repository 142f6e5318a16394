"""serving commands (filled in by the serving stage)."""

from __future__ import annotations
