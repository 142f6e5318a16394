"""Signed sessions for the page when an API key is set, and a limit on guessing the key.

A token is ``expiry.nonce.signature``: an HMAC of the expiry and a random nonce
under the API key, so every worker accepts it without shared state, and signing out
revokes exactly that token (``uptake.audit.sessions``). Wrong keys, on the sign-in
form or in ``X-API-Key``, are counted per client address: after
``MAX_FAILURES`` within ``WINDOW_S`` seconds that address is refused with 429 until
the window has passed, so a key cannot be guessed at hundreds of tries a second.
"""

from __future__ import annotations

import collections
import hashlib
import hmac
import secrets
import threading
import time

#: Wrong keys one client address may send within the window before it is refused for a while.
MAX_FAILURES = 10
WINDOW_S = 60.0


def _sign(api_key: str, expiry: int, nonce: str) -> str:
    return hmac.new(api_key.encode(), f"uptake-session:{expiry}:{nonce}".encode(), hashlib.sha256).hexdigest()


def session_token(api_key: str, hours: float, now: float | None = None) -> str:
    expiry = int((now or time.time()) + hours * 3600)
    nonce = secrets.token_hex(16)
    return f"{expiry}.{nonce}.{_sign(api_key, expiry, nonce)}"


def session_expiry(token: str) -> int:
    return int(token.partition(".")[0])


def session_valid(api_key: str, token: str | None, now: float | None = None) -> bool:
    """Signed with this key and not expired (revocation is checked by the caller)."""
    if not token or token.count(".") != 2:
        return False
    expiry, nonce, sig = token.split(".")
    if not expiry.isdigit() or int(expiry) < (now or time.time()) or len(nonce) != 32:
        return False
    return hmac.compare_digest(sig, _sign(api_key, int(expiry), nonce))


class FailureLimiter:
    """Failed sign-ins (and wrong API keys) per client address in a sliding window; per worker process."""

    def __init__(self, max_failures: int = MAX_FAILURES, window_s: float = WINDOW_S) -> None:
        self.max_failures, self.window_s = max_failures, window_s
        self._failures: dict[str, collections.deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, client: str, now: float) -> collections.deque[float]:
        q = self._failures.setdefault(client, collections.deque())
        while q and now - q[0] > self.window_s:
            q.popleft()
        return q

    def retry_after(self, client: str) -> int:
        """Seconds until ``client`` may try again (0: it may try now)."""
        now = time.monotonic()
        with self._lock:
            q = self._recent(client, now)
            if len(q) < self.max_failures:
                return 0
            return max(1, int(self.window_s - (now - q[0])) + 1)

    def failed(self, client: str) -> None:
        now = time.monotonic()
        with self._lock:
            if len(self._failures) > 100_000:
                self._failures.clear()
            self._recent(client, now).append(now)


__all__ = ["MAX_FAILURES", "WINDOW_S", "FailureLimiter", "session_expiry", "session_token", "session_valid"]
