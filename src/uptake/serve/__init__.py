"""The web service (``uptake serve``): page, JSON API, file scoring and the audit log.

``create_app`` builds the FastAPI application; ``ServeConfig`` holds its settings.
Imported lazily by the CLI, so ``uptake train`` never pays for FastAPI's import.
"""

from __future__ import annotations

from uptake.serve.app import create_app
from uptake.serve.config import ServeConfig

__all__ = ["ServeConfig", "create_app"]
