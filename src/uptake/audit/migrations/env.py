"""Alembic environment for uptake's audit log.

Run by ``uptake.audit.db.migrate`` with an open connection (so SQLite files,
PostgreSQL schemas chosen through ``search_path`` and test databases all work), or
by the ``alembic`` command with ``-x url=...`` for a developer writing a migration.
The version table has its own name so the audit log can share a database with an
application that uses Alembic itself.
"""

from __future__ import annotations

from alembic import context

from uptake.audit.db import VERSION_TABLE, make_engine, metadata

config = context.config


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise SystemExit("give the database: alembic -x url=sqlite:///uptake-audit.sqlite upgrade head")
    engine = make_engine(url)
    with engine.begin() as conn:
        _run(conn)
    engine.dispose()


def _run(connection) -> None:  # type: ignore[no-untyped-def]
    context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise SystemExit("uptake's audit migrations run online only")
run_migrations_online()
