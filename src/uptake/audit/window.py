"""Time windows over the audit log (``--since``, ``--until``), parsed without importing SQLAlchemy."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from uptake.errors import UptakeInputError


def parse_since(text: str | None, now: datetime | None = None, option: str = "--since") -> datetime | None:
    """``2026-05-01``, ``2026-05-01T12:00``, or relative: ``30m``, ``12h``, ``7d`` ago. Times are UTC.

    ``option``: the option's name for the error (``--since`` or ``--until``).
    """
    if text is None or not text.strip():
        return None
    text = text.strip()
    now = now or datetime.now(UTC)
    units = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
    if text[-1:].lower() in units and text[:-1].replace(".", "", 1).isdigit():
        try:
            return now - timedelta(seconds=float(text[:-1]) * units[text[-1].lower()])
        except (OverflowError, ValueError):
            raise UptakeInputError(f"{option} {text!r}: that age reaches before year 1; give a smaller one") from None
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise UptakeInputError(
            f"{option} {text!r}: use a date or time (2026-05-01, 2026-05-01T12:00) or an age (30m, 12h, 7d)"
        ) from None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def existing_db(url: str, option: str = "--db") -> str:
    """A database a read-only command may open: a SQLite file that exists (connecting would create an empty
    one, and a mistyped path would then read as an empty log)."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:///:memory:"):
        path = url[len("sqlite:///") :].split("?", 1)[0]
        if not Path(path).is_file():
            raise UptakeInputError(f"{option} {url!r}: the file {path!r} does not exist (a mistyped path?)")
    return url


def parse_until(text: str | None, now: datetime | None = None) -> datetime | None:
    """``--until``: as :func:`parse_since`, named as itself in its errors."""
    return parse_since(text, now, option="--until")


__all__ = ["existing_db", "parse_since", "parse_until"]
