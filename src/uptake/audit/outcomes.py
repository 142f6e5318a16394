"""Realised outcomes: who actually accepted, imported after the campaign and joined to the audit log by id.

``import_outcomes`` checks every row before it writes any: ids that are missing or
not ids, outcomes that are not yes/no, ids given twice, customers the audit log
never scored, outcomes dated before the customer's first prediction, and ids
already imported with the other outcome. Each problem is counted and listed with
its row. With problems, nothing is imported unless ``skip_problems`` is set; then
the clean rows go in, in one transaction, and the problems are still reported.
Importing the same outcome twice is a no-op (counted as already imported).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import sqlalchemy as sa

from uptake.audit.db import database_error, make_engine, migrate, outcomes, predictions
from uptake.audit.ids import customer_key
from uptake.errors import UptakeInputError, where
from uptake.io.atomic import HeldSignals
from uptake.io.tables import read_table
from uptake.schema.target import FALSE_WORDS, TRUE_WORDS, label_text
from uptake.schema.values import AMBIGUOUS, date_format, is_missing, row_numbers, to_days

#: Problems, in the order they are checked and reported.
PROBLEMS = {
    "missing_id": "no customer id",
    "invalid_id": "not a customer id",
    "invalid_outcome": "outcome is not yes/no (1/0, true/false)",
    "invalid_date": "date cannot be read",
    "duplicate_id": "the same id appears on more than one row",
    "never_scored": "the audit log never scored this customer",
    "before_prediction": "outcome dated before the customer's first prediction",
    "conflict": "already imported with the other outcome",
}
#: With --positive and several other labels, those that read as "did not accept" (others need --negative).
NEGATIVE_WORDS = FALSE_WORDS | {"declined", "rejected", "refused", "not accepted", "lost"}
#: Ids looked up in the audit log per query.
LOOKUP_CHUNK = 5000


@dataclass
class Problem:
    kind: str
    row: int
    customer_id: Any
    value: Any = None

    def line(self, source: object) -> str:
        return f"{where(file=source, row=self.row, value=self.value)}: {PROBLEMS[self.kind]} (id {self.customer_id!r})"


@dataclass
class ImportReport:
    source: str
    rows: int
    imported: int = 0
    already: int = 0
    positives: int = 0
    import_id: str = ""
    problems: list[Problem] = field(default_factory=list)
    written: bool = False
    #: stop signals that arrived while the import committed (the caller says so, and exits as stopped)
    interrupted: list[int] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        out = dict.fromkeys(PROBLEMS, 0)
        for p in self.problems:
            out[p.kind] += 1
        return {k: v for k, v in out.items() if v}

    def to_dict(self, examples: int = 20) -> dict[str, Any]:
        return {
            "source": self.source,
            "rows": self.rows,
            "imported": self.imported,
            "already_imported": self.already,
            "positives": self.positives,
            "import_id": self.import_id,
            "written": self.written,
            "problems": self.counts(),
            "examples": [
                {"kind": p.kind, "row": p.row, "id": p.customer_id, "value": p.value} for p in self.problems[:examples]
            ],
        }


def _label(value: Any) -> str | None:
    if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
        return None
    text = label_text(value).casefold()
    return text or None


def outcome_codes(values: pd.Series, positive: str | None = None, negative: str | None = None) -> list[int | None]:
    """Each cell as 1, 0, or None where it is not an outcome (listed as a problem, never guessed).

    Labels compare as their text, case aside (``Accepted`` is ``accepted``; ``1.0`` is ``1``).
    Without ``positive``: yes/no words and 1/0. With it: that label is 1; ``negative`` (or a no word,
    or the column's only other label) is 0; any further label (``pending``) is not an outcome.
    """
    labels = [_label(v) for v in values.tolist()]
    if positive is None:
        return [None if t is None else 1 if t in TRUE_WORDS else 0 if t in FALSE_WORDS else None for t in labels]
    pos = _label(positive)
    others = {t for t in labels if t is not None and t != pos}
    if negative is not None:
        neg = {_label(negative)}
    elif len(others) == 1:
        neg = others
    else:
        neg = others & NEGATIVE_WORDS
    return [None if t is None else 1 if t == pos else 0 if t in neg else None for t in labels]


def parse_outcome(value: Any, positive: str | None) -> int | None:
    """One value: 1, 0, or None for a value that is not an outcome (see :func:`outcome_codes`)."""
    return outcome_codes(pd.Series([value], dtype=object), positive)[0]


def _columns(df: pd.DataFrame, source: Path, names: Iterable[str | None]) -> None:
    for name in names:
        if name is not None and name not in df.columns:
            raise UptakeInputError(
                f"{where(file=source, column=name)}: no such column (the file has "
                f"{', '.join(map(str, list(df.columns)[:12]))})"
            )


def _first_scored(conn: sa.Connection, ids: list[str]) -> dict[str, datetime]:
    """Each id's first prediction time in the audit log (ids never scored are absent)."""
    found: dict[str, datetime] = {}
    for i in range(0, len(ids), LOOKUP_CHUNK):
        part = ids[i : i + LOOKUP_CHUNK]
        q = (
            sa.select(predictions.c.customer_id, sa.func.min(predictions.c.created_at))
            .where(predictions.c.customer_id.in_(part))
            .group_by(predictions.c.customer_id)
        )
        for cid, when in conn.execute(q):
            found[cid] = when if when.tzinfo else when.replace(tzinfo=UTC)
    return found


def _imported(conn: sa.Connection, ids: list[str]) -> dict[str, tuple[int, str]]:
    """Each id's stored outcome and the import that stored it."""
    found: dict[str, tuple[int, str]] = {}
    for i in range(0, len(ids), LOOKUP_CHUNK):
        q = sa.select(outcomes.c.customer_id, outcomes.c.outcome, outcomes.c.import_id).where(
            outcomes.c.customer_id.in_(ids[i : i + LOOKUP_CHUNK])
        )
        found.update({cid: (int(o), str(imp)) for cid, o, imp in conn.execute(q)})
    return found


def _dates(df: pd.DataFrame, column: str, path: Path) -> pd.Series:
    """The date column read with the one format the whole column is written in (never month-first in one row
    and day-first in the next); cells that are not dates in it are NaT (a problem each)."""
    raw = df[column]
    fmt = date_format(raw)
    if fmt == AMBIGUOUS:
        raise UptakeInputError(
            f"{where(file=path, column=column)}: its dates cannot be told day-first from month-first (no day above "
            "12); write them as 2027-04-03"
        )
    days = to_days(raw, fmt or "ISO8601")
    return pd.to_datetime(days * 86_400, unit="s", utc=True, errors="coerce")


def undo_import(url: str, import_id: str) -> int:
    """Delete the outcomes one import stored (``ImportReport.import_id``); how many were deleted."""
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            return int(conn.execute(outcomes.delete().where(outcomes.c.import_id == import_id)).rowcount or 0)
    except sa.exc.DBAPIError as exc:
        raise database_error(engine, exc, "undo an import", "; nothing was deleted") from None
    finally:
        engine.dispose()


def import_outcomes(
    url: str,
    path: Path,
    id_column: str,
    outcome_column: str,
    *,
    date_column: str | None = None,
    positive: str | None = None,
    negative: str | None = None,
    skip_problems: bool = False,
    sheet: str | None = None,
) -> ImportReport:
    """Check a file of outcomes against the audit log and store the good rows (all or, with problems, none)."""
    df = read_table(path, sheet=sheet)
    _columns(df, path, (id_column, outcome_column, date_column))
    rows = row_numbers(df)
    report = ImportReport(str(path), len(df), import_id="import-" + uuid.uuid4().hex[:16])
    dates = _dates(df, date_column, path) if date_column else pd.Series([pd.NaT] * len(df))
    outcomes_of = outcome_codes(df[outcome_column], positive, negative)
    good: dict[str, tuple[int, int, Any]] = {}  # id -> (row, outcome, observed_at)
    seen: dict[str, int] = {}
    for i, (raw_id, raw_out, when) in enumerate(zip(df[id_column].tolist(), df[outcome_column].tolist(), dates)):
        row = int(rows[i])
        try:
            cid = customer_key(raw_id)
        except ValueError:
            report.problems.append(Problem("invalid_id", row, raw_id, raw_id))
            continue
        if cid is None:
            report.problems.append(Problem("missing_id", row, None))
            continue
        outcome = outcomes_of[i]
        if outcome is None:
            report.problems.append(Problem("invalid_outcome", row, cid, raw_out))
            continue
        if date_column and pd.isna(when) and not is_missing(df[date_column].iloc[[i]])[0]:
            report.problems.append(Problem("invalid_date", row, cid, df[date_column].iloc[i]))
            continue
        if cid in seen:
            report.problems.append(Problem("duplicate_id", row, cid, f"also row {seen[cid]}"))
            if good.pop(cid, None) is not None:  # neither row is trusted, and the first is listed too
                report.problems.append(Problem("duplicate_id", seen[cid], cid, f"also row {row}"))
            continue
        seen[cid] = row
        good[cid] = (row, outcome, None if pd.isna(when) else when.to_pydatetime())
    engine = make_engine(url)
    held: HeldSignals | None = None
    try:
        migrate(engine)
        with engine.begin() as conn:
            ids = list(good)
            first = _first_scored(conn, ids)
            before = _imported(conn, ids)
            rows_in = []
            now = datetime.now(UTC)
            for cid, (row, outcome, when) in good.items():
                if cid not in first:
                    report.problems.append(Problem("never_scored", row, cid))
                elif when is not None and when < first[cid]:
                    report.problems.append(
                        Problem("before_prediction", row, cid, f"{when.isoformat()} < {first[cid].isoformat()}")
                    )
                elif cid in before and before[cid][0] != outcome:
                    stored, imp = before[cid]
                    report.problems.append(
                        Problem("conflict", row, cid, f"{outcome} (stored {stored} by {imp}: `outcomes undo {imp}`)")
                    )
                elif cid in before:
                    report.already += 1
                else:
                    rows_in.append(
                        {
                            "customer_id": cid,
                            "outcome": outcome,
                            "observed_at": when,
                            "imported_at": now,
                            "import_id": report.import_id,
                            "source": Path(path).name[:256],
                        }
                    )
            report.problems.sort(key=lambda p: p.row)
            if report.problems and not skip_problems:
                return report  # nothing written: the transaction commits no rows
            # From here a stop signal waits: it must not claim "interrupted" of a commit that happened
            held = HeldSignals()
            for i in range(0, len(rows_in), 10_000):
                conn.execute(outcomes.insert(), rows_in[i : i + 10_000])
            report.imported = len(rows_in)
            report.positives = sum(r["outcome"] for r in rows_in)
            report.written = True
        report.interrupted = held.swallow()
        held = None
    except sa.exc.DBAPIError as exc:
        raise database_error(engine, exc, "import outcomes", "; nothing was imported") from None
    finally:
        if held is not None:  # the commit failed: a stop held meanwhile is delivered (nothing was imported)
            held.release()
        engine.dispose()
    return report


__all__ = ["PROBLEMS", "ImportReport", "Problem", "import_outcomes", "outcome_codes", "parse_outcome", "undo_import"]
