"""What ``uptake serve`` decides, in one JSON-able object (worker processes get the same)."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

from uptake.audit.defaults import DEFAULT_DB
from uptake.serve.requests import DEFAULT_MARGIN, DEFAULT_MAX_ROWS

API_KEY_ENV = "UPTAKE_API_KEY"
CONFIG_ENV = "UPTAKE_SERVE_CONFIG"
SESSION_COOKIE = "uptake_session"
PAGE_HEADER = "X-Uptake-Page"
#: Hosts a key-less local server answers to by default (a DNS-rebinding page names another host).
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1", "[::1]")


@dataclass
class ServeConfig:
    """Everything ``uptake serve`` decides; JSON-able so worker processes get the same."""

    model_dirs: list[str]
    db_url: str = DEFAULT_DB
    api_key: str | None = None
    max_body_bytes: int = 1 << 20
    max_upload_bytes: int = 64 << 20
    max_rows: int = DEFAULT_MAX_ROWS
    max_file_rows: int = 1_000_000
    request_timeout_s: float = 60.0
    range_margin: float = DEFAULT_MARGIN
    #: refuse unusual values (beyond the widened training range, unseen categories) instead of flagging them
    strict: bool = False
    fast_path: bool = True
    run_migrations: bool = True
    session_hours: float = 12.0
    audit_batch_rows: int = 2000
    #: where answered rows are journalled before their answer leaves (None: beside a SQLite database, else
    #: ./uptake-audit-journal; ``uptake.audit.journal``)
    audit_journal: str | None = None
    #: flush the journal to disk before every answer (survives a power loss too; costs a disk flush per answer)
    audit_fsync: bool = False

    def journal_dir(self) -> str:
        if self.audit_journal:
            return self.audit_journal
        if self.db_url.startswith("sqlite:///") and not self.db_url.startswith("sqlite:///:memory:"):
            return self.db_url[len("sqlite:///") :].split("?", 1)[0] + ".journal"
        return "uptake-audit-journal"

    #: Host header values accepted; empty means the local names plus the bound host.
    allowed_hosts: list[str] = field(default_factory=list)

    def to_json(self) -> str:
        """Without the API key: worker processes read it from the environment, as the CLI did."""
        return json.dumps({**asdict(self), "api_key": None})

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        return cls(**json.loads(text))


__all__ = ["API_KEY_ENV", "CONFIG_ENV", "LOCAL_HOSTS", "PAGE_HEADER", "SESSION_COOKIE", "ServeConfig"]
