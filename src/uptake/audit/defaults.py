"""The audit log's default database: a SQLite file beside the service."""

DEFAULT_DB = "sqlite:///uptake-audit.sqlite"
