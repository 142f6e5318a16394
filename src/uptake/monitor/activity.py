"""What the service has been doing: traffic per model version and day, and the score distribution per week.

Reads four narrow columns of the audit log in chunks (not the inputs), so a month
of traffic is seconds even at millions of rows.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from uptake.audit.db import TABLE, database_error, make_engine, predictions, shown
from uptake.audit.read import db_time
from uptake.errors import UptakeInputError

#: Score bins of the per-week distribution.
SCORE_EDGES = np.linspace(0.0, 1.0, 11)
CHUNK = 100_000


def activity(url: str, since: datetime | None = None, until: datetime | None = None) -> dict[str, Any]:
    """Per version: rows per day and calls; per version and ISO week: score histogram and quartiles."""
    p = predictions.c
    q = sa.select(p.created_at, p.model_version, p.probability, p.decision).order_by(p.id)
    engine = make_engine(url)
    days: list[pd.DataFrame] = []
    weeks: dict[tuple[str, str], np.ndarray] = {}
    quantile_rows: dict[tuple[str, str], list[np.ndarray]] = {}
    rows = 0
    try:
        with engine.connect() as conn:
            if not sa.inspect(conn).has_table(TABLE):
                raise UptakeInputError(f"--db {shown(url)!r}: no audit log in this database")
            if since is not None:
                q = q.where(p.created_at >= db_time(engine, since))
            if until is not None:
                q = q.where(p.created_at < db_time(engine, until))
            result = conn.execution_options(yield_per=CHUNK).execute(q)
            for part in result.partitions(CHUNK):
                df = pd.DataFrame(part, columns=["created_at", "model_version", "probability", "decision"])
                rows += len(df)
                when = pd.to_datetime(df["created_at"], utc=True)
                df["day"] = when.dt.strftime("%Y-%m-%d")
                iso = when.dt.isocalendar()
                df["week"] = iso["year"].astype(str) + "-W" + iso["week"].astype(str).str.zfill(2)
                days.append(
                    df.groupby(["model_version", "day"])
                    .agg(rows=("decision", "size"), calls=("decision", "sum"))
                    .reset_index()
                )
                for (version, week), g in df.groupby(["model_version", "week"]):
                    counts = np.histogram(g["probability"].to_numpy(), SCORE_EDGES)[0]
                    key = (str(version), str(week))
                    weeks[key] = weeks.get(key, 0) + counts
                    sample = quantile_rows.setdefault(key, [])
                    if sum(len(s) for s in sample) < 200_000:  # quartiles from the first 200k of a week suffice
                        sample.append(g["probability"].to_numpy())
    except sa.exc.DBAPIError as exc:  # the password is hidden in the message
        raise database_error(engine, exc, "read the audit database") from None
    finally:
        engine.dispose()
    traffic: dict[str, dict[str, dict[str, int]]] = {}
    if days:
        per_day = pd.concat(days).groupby(["model_version", "day"]).sum().reset_index()
        for r in per_day.itertuples(index=False):
            traffic.setdefault(str(r.model_version), {})[str(r.day)] = {"rows": int(r.rows), "calls": int(r.calls)}
    scores: dict[str, dict[str, Any]] = {}
    for (version, week), counts in sorted(weeks.items()):
        values = np.concatenate(quantile_rows[(version, week)])
        q25, q50, q75 = np.quantile(values, [0.25, 0.5, 0.75]).tolist()
        scores.setdefault(version, {})[week] = {
            "counts": [int(c) for c in counts],
            "q25": q25,
            "median": q50,
            "q75": q75,
            "rows": int(counts.sum()),
        }
    return {"rows": rows, "traffic": traffic, "scores": scores, "edges": SCORE_EDGES.tolist()}


__all__ = ["SCORE_EDGES", "activity"]
