"""Reading the audit log back: time windows, and the rows as a table."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.json as pa_json
import sqlalchemy as sa

from uptake.audit.db import TABLE, database_error, make_engine, predictions, shown
from uptake.audit.window import parse_since
from uptake.errors import UptakeInputError

#: The audit table's own columns (everything but the inputs' JSON), in the table's order.
FIXED = tuple(c.name for c in predictions.columns if c.name != "inputs")


def _query(engine: sa.Engine, since: datetime | None, until: datetime | None) -> Any:
    # The inputs as their JSON text: parsed in bulk per chunk, not row by row by the driver's JSON type.
    columns = [predictions.c[name] for name in FIXED] + [sa.cast(predictions.c.inputs, sa.Text).label("inputs")]
    query = sa.select(*columns).order_by(predictions.c.id)
    if since is not None:
        query = query.where(predictions.c.created_at >= db_time(engine, since))
    if until is not None:
        query = query.where(predictions.c.created_at < db_time(engine, until))
    return query


def _inputs(texts: Sequence[Any]) -> pd.DataFrame:
    """The inputs' JSON objects as one table: Arrow parses a chunk at once (~7x json.loads per row)."""
    if texts and all(isinstance(t, str) for t in texts):
        try:
            table = pa_json.read_json(io.BytesIO("\n".join(texts).encode()))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):  # mixed types in a column, NaN tokens: row by row
            table = None
        # Arrow reads ISO-looking text as dates or times: keep the cells as they were written instead.
        if (
            table is not None
            and len(table) == len(texts)
            and not any(pa.types.is_temporal(f.type) or pa.types.is_nested(f.type) for f in table.schema)
        ):
            return table.to_pandas()
    return pd.DataFrame([_as_dict(t) for t in texts])


def _frame(result: Sequence[Any]) -> pd.DataFrame:
    frame = pd.DataFrame.from_records([tuple(r[:-1]) for r in result], columns=list(FIXED), nrows=len(result))
    inputs = _inputs([r[-1] for r in result])
    inputs.index = frame.index
    inputs = inputs.rename(columns={c: f"input.{c}" for c in inputs.columns if c in frame.columns})
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    return pd.concat([frame, inputs], axis=1)


def iter_log(
    url: str, since: datetime | None = None, until: datetime | None = None, chunk_rows: int = 50_000
) -> Iterator[pd.DataFrame]:
    """The audit rows in chunks of at most ``chunk_rows`` (a server-side cursor where the database has one)."""
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(TABLE):
                raise UptakeInputError(
                    f"--db {shown(url)!r}: no audit log in this database (has `uptake serve` run with it?)"
                )
            result = conn.execution_options(yield_per=chunk_rows).execute(_query(engine, since, until))
            for part in result.partitions(chunk_rows):
                yield _frame(part)
    except sa.exc.DBAPIError as exc:  # not a database, unreachable, no permission
        raise database_error(engine, exc, "read the audit database") from None
    except (ValueError, TypeError) as exc:  # a row edited outside uptake: a time or JSON its readers cannot read
        raise UptakeInputError(
            f"--db {shown(url)!r}: a row of the audit log cannot be read (edited outside uptake?): "
            f"{' '.join(str(exc).split())[:200]}"
        ) from None
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


__all__ = ["FIXED", "count_rows", "db_time", "iter_log", "parse_since", "read_log"]
