"""Time windows over the audit log (``--since``, ``--until``), parsed without importing SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from uptake.errors import UptakeInputError


def parse_since(text: str | None, now: datetime | None = None) -> datetime | None:
    """``2026-05-01``, ``2026-05-01T12:00``, or relative: ``30m``, ``12h``, ``7d`` ago. Times are UTC."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    now = now or datetime.now(UTC)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text[-1:].lower() in units and text[:-1].replace(".", "", 1).isdigit():
        return now - timedelta(seconds=float(text[:-1]) * units[text[-1].lower()])
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UptakeInputError(
            f"--since {text!r}: use a date or time (2026-05-01, 2026-05-01T12:00) or an age (30m, 12h, 7d)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


__all__ = ["parse_since"]
