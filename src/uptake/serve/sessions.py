"""Signed sessions for the page when an API key is set: an HMAC of the expiry under the key."""

from __future__ import annotations

import hashlib
import hmac
import time


def session_token(api_key: str, hours: float, now: float | None = None) -> str:
    """``expiry.signature``: an HMAC of the expiry under the API key, so every worker accepts it."""
    expiry = int((now or time.time()) + hours * 3600)
    sig = hmac.new(api_key.encode(), f"uptake-session:{expiry}".encode(), hashlib.sha256).hexdigest()
    return f"{expiry}.{sig}"


def session_valid(api_key: str, token: str | None, now: float | None = None) -> bool:
    if not token or "." not in token:
        return False
    expiry, _, sig = token.partition(".")
    if not expiry.isdigit() or int(expiry) < (now or time.time()):
        return False
    good = hmac.new(api_key.encode(), f"uptake-session:{expiry}".encode(), hashlib.sha256).hexdigest()
    return hmac.compare_digest(sig, good)


__all__ = ["session_token", "session_valid"]
