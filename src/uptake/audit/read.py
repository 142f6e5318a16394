"""Reading the audit log back: time windows, and the rows as a table."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from uptake.audit.db import TABLE, make_engine, predictions
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


def _query(engine: sa.Engine, since: datetime | None, until: datetime | None) -> Any:
    query = sa.select(predictions).order_by(predictions.c.id)
    if since is not None:
        query = query.where(predictions.c.created_at >= db_time(engine, since))
    if until is not None:
        query = query.where(predictions.c.created_at < db_time(engine, until))
    return query


def _frame(result: Sequence[Any]) -> pd.DataFrame:
    fixed = [c.name for c in predictions.columns if c.name != "inputs"]
    frame = pd.DataFrame([{k: r[k] for k in fixed} for r in result], columns=fixed)
    inputs = pd.DataFrame([_as_dict(r["inputs"]) for r in result], index=frame.index)
    inputs = inputs.rename(columns={c: f"input.{c}" for c in inputs.columns if c in frame.columns})
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return pd.concat([frame, inputs], axis=1)


def iter_log(url: str, since: datetime | None = None, until: datetime | None = None,
             chunk_rows: int = 50_000) -> Iterator[pd.DataFrame]:
    """The audit rows in chunks of at most ``chunk_rows`` (a server-side cursor where the database has one)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(TABLE):
                raise UptakeInputError(f"--db {url!r}: no audit log in this database (has `uptake serve` run with it?)")
            result = conn.execution_options(yield_per=chunk_rows).execute(_query(engine, since, until)).mappings()
            for part in result.partitions(chunk_rows):
                yield _frame(part)
    except sa.exc.DBAPIError as exc:  # not a database, unreachable, no permission
        first = str(exc.orig).strip().splitlines()[0] if str(exc.orig).strip() else type(exc.orig).__name__
        raise UptakeInputError(f"--db {engine.url.render_as_string(hide_password=True)!r}: cannot read the "
                               f"audit database ({first})") from None
    finally:
        engine.dispose()


def read_log(url: str, since: datetime | None = None, until: datetime | None = None) -> pd.DataFrame:
    """The audit rows as a table: fixed columns, then one column per input feature."""
    parts = list(iter_log(url, since, until))
    return pd.concat(parts, ignore_index=True) if parts else _frame([])


def _as_dict(v: Any) -> dict[str, Any]:
    return json.loads(v) if isinstance(v, str) else dict(v or {})


def db_time(engine: sa.Engine, when: datetime) -> datetime:
    """SQLite keeps naive UTC strings; PostgreSQL compares aware times."""
    when = when.astimezone(UTC)
    return when.replace(tzinfo=None) if engine.dialect.name == "sqlite" else when


def count_rows(url: str) -> int:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(predictions)).scalar_one())
    finally:
        engine.dispose()


__all__ = ["count_rows", "db_time", "iter_log", "parse_since", "read_log"]
