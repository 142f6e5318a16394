"""UPTAKE_API_KEY: the API requires it, the page stays usable through a signed session, no CSRF hole."""

from __future__ import annotations

import time

import httpx
import pytest

from serve_live import customer, live_server
from uptake.serve.config import SESSION_COOKIE, ServeConfig
from uptake.serve.sessions import session_token, session_valid

KEY = "s3cret-key-for-tests"


@pytest.fixture(scope="module")
def keyed(quick_model, tmp_path_factory):
    db = tmp_path_factory.mktemp("auth") / "audit.sqlite"
    with live_server(ServeConfig([str(quick_model)], db_url=f"sqlite:///{db}", api_key=KEY)) as server:
        yield server


def test_api_requires_the_key(keyed) -> None:
    with httpx.Client(base_url=keyed.url) as c:
        r = c.post("/api/v1/predict", json=customer())
        assert r.status_code == 401 and "X-API-Key" in r.json()["detail"]
        assert c.post("/api/v1/predict", json=customer(), headers={"X-API-Key": "wrong"}).status_code == 401
        assert c.get("/api/v1/model").status_code == 401
        assert c.post("/api/v1/predict/file", files={"file": ("a.csv", b"x")}).status_code == 401
        assert c.post("/api/v1/predict", json=customer(), headers={"X-API-Key": KEY}).status_code == 200
        assert c.get("/api/v1/model", headers={"X-API-Key": KEY}).status_code == 200
        assert c.get("/health").status_code == 200  # probes need no key


def test_page_asks_for_the_key_then_works_through_its_session(keyed) -> None:
    with httpx.Client(base_url=keyed.url) as c:
        page = c.get("/")
        assert page.status_code == 200 and 'name="api_key"' in page.text and "customer-form" not in page.text
        bad = c.post("/login", data={"api_key": "nope"})
        assert bad.status_code == 401 and "not right" in bad.text
        ok = c.post("/login", data={"api_key": KEY})
        assert ok.status_code == 303
        cookie = ok.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert "customer-form" in c.get("/").text
        # The page's own calls: cookie plus the page header.
        r = c.post("/api/v1/predict", json=customer(), headers={"X-Uptake-Page": "1"})
        assert r.status_code == 200
        # The cookie alone (what a cross-site form post could carry) is not enough.
        assert c.post("/api/v1/predict", json=customer()).status_code == 401
        c.post("/logout")
        assert c.post("/api/v1/predict", json=customer(), headers={"X-Uptake-Page": "1"}).status_code == 401


def test_page_calls_are_audited_as_page(keyed) -> None:
    with httpx.Client(base_url=keyed.url) as c:
        c.post("/login", data={"api_key": KEY})
        c.post("/api/v1/predict", json=customer(), headers={"X-Uptake-Page": "1", "X-Request-ID": "from-page"})
    assert keyed.audit.flush(30)
    from uptake.audit.read import read_log

    log = read_log(keyed.config.db_url)
    assert log.loc[log["request_id"] == "from-page", "source"].tolist() == ["page"]


def test_session_tokens_expire_and_are_bound_to_the_key() -> None:
    now = time.time()
    token = session_token(KEY, hours=1, now=now)
    assert session_valid(KEY, token, now=now + 10)
    assert not session_valid(KEY, token, now=now + 7200)
    assert not session_valid("another-key", token, now=now)
    expiry, _, sig = token.partition(".")
    assert not session_valid(KEY, f"{int(expiry) + 99999}.{sig}", now=now)  # a stretched expiry breaks the signature
    assert not session_valid(KEY, None) and not session_valid(KEY, "garbage")
    assert SESSION_COOKIE == "uptake_session"
