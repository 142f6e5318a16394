"""Signed-out page sessions, kept in the audit database so that every worker process refuses them.

A session token is signed, so any worker can check it without shared state; signing
out must therefore be remembered somewhere every worker reads. The database the
audit log already uses is that place. Each worker remembers the tokens it has
checked for a few seconds, so a page's requests do not each cost a query; a token
revoked by another worker is refused within that time, one revoked here at once.
"""

from __future__ import annotations

import hashlib
import threading
import time
from datetime import UTC, datetime

import sqlalchemy as sa

from uptake.audit.db import revoked_sessions

#: Seconds a worker trusts its last look at the table for one token.
CHECK_TTL_S = 5.0


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class RevokedSessions:
    """The set of revoked session tokens (by SHA-256; tokens themselves are never stored)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._seen: dict[str, tuple[float, bool]] = {}
        self._lock = threading.Lock()

    def revoke(self, token: str, expires: float) -> None:
        digest = _digest(token)
        when = datetime.fromtimestamp(expires, UTC)
        with self.engine.begin() as conn:
            if (
                conn.execute(
                    sa.select(revoked_sessions.c.token_sha256).where(revoked_sessions.c.token_sha256 == digest)
                ).first()
                is None
            ):
                conn.execute(revoked_sessions.insert(), {"token_sha256": digest, "expires_at": when})
            conn.execute(revoked_sessions.delete().where(revoked_sessions.c.expires_at < datetime.now(UTC)))
        with self._lock:
            self._seen[digest] = (time.monotonic(), True)

    def is_revoked(self, token: str) -> bool:
        digest = _digest(token)
        now = time.monotonic()
        with self._lock:
            hit = self._seen.get(digest)
            if hit is not None and (hit[1] or now - hit[0] < CHECK_TTL_S):
                return hit[1]
        with self.engine.connect() as conn:
            revoked = (
                conn.execute(
                    sa.select(revoked_sessions.c.token_sha256).where(revoked_sessions.c.token_sha256 == digest)
                ).first()
                is not None
            )
        with self._lock:
            if len(self._seen) > 10_000:
                self._seen.clear()
            self._seen[digest] = (now, revoked)
        return revoked


__all__ = ["CHECK_TTL_S", "RevokedSessions"]
