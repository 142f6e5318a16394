"""The audit database: its table, engines for SQLite and PostgreSQL, and migrations (Alembic).

The table is created and upgraded by the Alembic migrations shipped in
``uptake/audit/migrations``, run when a service starts (or before its workers start).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.util.exc import CommandError
from sqlalchemy.dialects import postgresql

from uptake.audit.defaults import DEFAULT_DB
from uptake.errors import UptakeInputError
from uptake.io.jsonable import dumps

log = logging.getLogger("uptake.serve.audit")

TABLE = "uptake_predictions"
VERSION_TABLE = "uptake_alembic_version"
MIGRATIONS = Path(__file__).with_name("migrations")

metadata = sa.MetaData()
JSONType = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
predictions = sa.Table(
    TABLE,
    metadata,
    sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("request_id", sa.String(64), nullable=False, index=True),
    sa.Column("row_index", sa.Integer(), nullable=False),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("model_version", sa.String(128), nullable=False),
    sa.Column("inputs", JSONType, nullable=False),
    sa.Column("probability", sa.Float(), nullable=False),
    sa.Column("decision", sa.SmallInteger(), nullable=False),
    sa.Column("threshold", sa.Float(), nullable=False),
    sa.Column("latency_ms", sa.Float(), nullable=False),
    # Revision 0003: who was scored (a request's ``id`` field, a file's id column) and in which batch.
    sa.Column("customer_id", sa.String(128), nullable=True, index=True),
    sa.Column("batch_id", sa.String(64), nullable=True, index=True),
    # Revision 0004: the unusual values each answer flagged ('; ' joined), and the reasons it showed.
    sa.Column("flags", sa.Text(), nullable=True),
    sa.Column("reasons", JSONType, nullable=True),
)

#: Realised outcomes: who actually accepted, imported after the campaign (``uptake outcomes import``).
outcomes = sa.Table(
    "uptake_outcomes",
    metadata,
    sa.Column("customer_id", sa.String(128), primary_key=True),
    sa.Column("outcome", sa.SmallInteger(), nullable=False),
    sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
    sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("import_id", sa.String(64), nullable=False, index=True),
    sa.Column("source", sa.String(256), nullable=False),
)


#: Page sessions signed out before they expired (``uptake.audit.sessions``).
revoked_sessions = sa.Table(
    "uptake_revoked_sessions",
    metadata,
    sa.Column("token_sha256", sa.String(64), primary_key=True),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
)


class JSONText(str):
    """Inputs already serialised to JSON (a whole file's rows at once, by pandas in C)."""


def _json_serializer(value: Any) -> str:
    """The engines' JSON encoder: passes ``JSONText`` through, so nothing is encoded twice."""
    if isinstance(value, JSONText):
        return str(value)
    return dumps(value)


def normalize_url(url: str) -> str:
    """Plain ``postgresql://`` means psycopg 3 here (SQLAlchemy would look for psycopg2)."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def make_engine(url: str) -> sa.Engine:
    """An engine with SQLite set up for one writer thread beside readers (WAL, busy timeout)."""
    url = normalize_url(url)
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError as exc:
        raise UptakeInputError(f"--db {url!r}: not a database URL ({exc})") from None
    label = shown(url)  # password hidden
    try:
        return _engine(parsed)
    except (ImportError, sa.exc.NoSuchModuleError) as exc:
        raise UptakeInputError(
            f"--db {label!r}: no driver for this database is installed ({exc}); uptake "
            "installs the drivers for sqlite:/// and postgresql://"
        ) from None
    except sa.exc.ArgumentError as exc:
        raise UptakeInputError(f"--db {label!r}: not a usable database URL ({exc})") from None


def _engine(parsed: sa.engine.URL) -> sa.Engine:
    if parsed.get_backend_name() == "sqlite":
        engine = sa.create_engine(parsed, connect_args={"timeout": 30}, json_serializer=_json_serializer)

        @sa.event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, json_serializer=_json_serializer)


def shown(target: sa.Engine | str) -> str:
    """An engine's URL, or a URL, for messages: password hidden (a URL that does not parse is shown as given)."""
    if isinstance(target, sa.Engine):
        return target.url.render_as_string(hide_password=True)
    try:
        return sa.engine.make_url(normalize_url(target)).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return target


@contextmanager
def database_errors(engine: sa.Engine, doing: str, after: str = "") -> Iterator[None]:
    """A driver error inside the block (not a database, unreachable, no permission) as one line naming the URL.

    ``doing`` says what failed ("read the audit database"); ``after`` what it means
    ("; nothing was imported"). The password never appears in the message.
    """
    try:
        yield
    except sa.exc.DBAPIError as exc:
        raise database_error(engine, exc, doing, after) from None


def database_error(engine: sa.Engine, exc: sa.exc.DBAPIError, doing: str, after: str = "") -> UptakeInputError:
    """The one-line error for a driver error; see :func:`database_errors`."""
    text = str(exc.orig).strip()
    first = text.splitlines()[0] if text else type(exc.orig).__name__
    return UptakeInputError(f"--db {shown(engine)!r}: cannot {doing} ({first}){after}")


def alembic_config(connection: sa.Connection | None = None) -> Any:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def migrate(engine: sa.Engine) -> None:
    """Create or upgrade the audit table to the newest migration (idempotent)."""
    try:
        with database_errors(engine, "open the audit database"), engine.begin() as conn:
            command.upgrade(alembic_config(conn), "head")
    except CommandError as exc:  # e.g. a revision this release does not know: written by a newer uptake
        raise UptakeInputError(
            f"--db {shown(engine)!r}: cannot upgrade the audit database "
            f"({str(exc).splitlines()[0]}); was it written by a newer uptake?"
        ) from None


__all__ = [
    "DEFAULT_DB",
    "TABLE",
    "VERSION_TABLE",
    "JSONText",
    "alembic_config",
    "database_error",
    "database_errors",
    "make_engine",
    "metadata",
    "migrate",
    "normalize_url",
    "outcomes",
    "predictions",
    "revoked_sessions",
    "shown",
]
