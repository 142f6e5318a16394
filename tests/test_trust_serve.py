"""Hostile requests against a real server on loopback: every one gets a clear answer, never a 500."""

from __future__ import annotations

import io
import json
import os
import resource
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from serve_live import customer, live_server
from uptake.serve.config import LOCAL_HOSTS, ServeConfig
from uptake.serve.sessions import MAX_FAILURES

KEY = "s3cret-key-for-tests"


@pytest.fixture(scope="module")
def server(quick_model: Path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trust-serve")
    config = ServeConfig(
        [str(quick_model)],
        db_url=f"sqlite:///{tmp / 'audit.sqlite'}",
        max_file_rows=10_000,
        allowed_hosts=list(LOCAL_HOSTS),
    )
    with live_server(config) as s:
        yield s


@pytest.fixture(scope="module")
def keyed(quick_model: Path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("trust-serve-key")
    config = ServeConfig([str(quick_model)], db_url=f"sqlite:///{tmp / 'audit.sqlite'}", api_key=KEY)
    with live_server(config) as s:
        yield s


@pytest.fixture()
def client(server):
    with httpx.Client(base_url=server.url, timeout=60) as c:
        yield c


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_non_finite_numbers_are_422_naming_the_field(client, literal: str) -> None:
    body = json.dumps(customer()).replace('"Income": 100', f'"Income": {literal}')
    r = client.post("/api/v1/predict", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"][0]
    assert detail["loc"] == ["body", "Income"] and detail["msg"] == "not a finite number"


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", None])
def test_a_body_that_is_not_json_is_415(client, content_type: str | None) -> None:
    headers = {"Content-Type": content_type} if content_type else {}
    r = client.post("/api/v1/predict", content=json.dumps(customer()), headers=headers)
    assert r.status_code == 415, r.text
    assert client.post("/api/v1/predict", json=customer()).status_code == 200


def test_another_host_is_refused(client) -> None:
    """A DNS-rebinding page talks to 127.0.0.1 under its own name: the Host header gives it away."""
    r = client.post("/api/v1/predict", json=customer(), headers={"Host": "attacker.example"})
    assert r.status_code == 400
    assert client.get("/health", headers={"Host": "localhost"}).status_code == 200


def test_a_compressed_parquet_bomb_is_refused_before_it_expands(client, tmp_path: Path) -> None:
    n = 2_000_000
    table = pa.table(
        {
            c: pa.array(np.zeros(n, dtype=np.int64))
            for c in (
                "Age",
                "Experience",
                "Income",
                "Family",
                "CCAvg",
                "Education",
                "Mortgage",
                "Securities Account",
                "CD Account",
                "Online",
                "CreditCard",
            )
        }
    )
    buf = io.BytesIO()
    pq.write_table(table, buf, compression="zstd")
    assert len(buf.getvalue()) < 1 << 20  # a small upload
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    r = client.post("/api/v1/predict/file", files={"file": ("bomb.parquet", buf.getvalue())})
    grew_mib = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert r.status_code == 422 and "2,000,000 rows is more than the limit of 10,000" in r.json()["detail"]
    assert grew_mib < 200  # the rows were never read


def test_formula_cells_are_neutralised_in_csv_but_kept_in_parquet(client, bank_df) -> None:
    df = bank_df.head(20).copy()
    df["Note"] = ['=HYPERLINK("http://x")', "+1+1", "-2+3", "@SUM(A1)", "\tx", "\rx", "-5", "plain"] + ["ok"] * 12
    r = client.post("/api/v1/predict/file", files={"file": ("t.csv", df.to_csv(index=False).encode())})
    assert r.status_code == 200, r.text
    notes = pd.read_csv(io.BytesIO(r.content), keep_default_na=False)["Note"]
    risky = {'\'=HYPERLINK("http://x")', "'+1+1", "'-2+3", "'@SUM(A1)"}
    assert risky <= set(notes) and not any(str(v).startswith(("=", "+", "@")) for v in notes)
    assert "-5" in set(notes.astype(str)) and "plain" in set(notes)  # numbers and plain text untouched
    r = client.post("/api/v1/predict/file?format=parquet", files={"file": ("t.csv", df.to_csv(index=False).encode())})
    assert '=HYPERLINK("http://x")' in set(pd.read_parquet(io.BytesIO(r.content))["Note"])


def test_docs_are_served_from_this_machine(client) -> None:
    html = client.get("/docs").text
    assert "cdn." not in html and "/static/swagger/swagger-ui-bundle.js" in html
    assert client.get("/static/swagger/swagger-ui-bundle.js").status_code == 200
    assert client.get("/static/swagger/swagger-ui.css").status_code == 200
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN: not offered


def test_wrong_keys_are_limited(keyed) -> None:
    with httpx.Client(base_url=keyed.url, timeout=30) as c:
        codes = [
            c.post("/api/v1/predict", json=customer(), headers={"X-API-Key": f"guess-{i}"}).status_code
            for i in range(MAX_FAILURES + 3)
        ]
        assert codes[:MAX_FAILURES] == [401] * MAX_FAILURES and set(codes[MAX_FAILURES:]) == {429}
        r = c.post("/api/v1/predict", json=customer(), headers={"X-API-Key": KEY})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0  # even the right key waits
        assert c.post("/login", data={"api_key": "nope"}).status_code == 429


def test_logout_revokes_the_session(keyed, quick_model: Path, tmp_path: Path) -> None:
    # A fresh server, so the rate limit of the test above does not apply to this client.
    config = ServeConfig([str(quick_model)], db_url=f"sqlite:///{tmp_path / 'a.sqlite'}", api_key=KEY)
    with live_server(config) as s, httpx.Client(base_url=s.url, timeout=30) as c:
        c.post("/login", data={"api_key": KEY})
        cookie = c.cookies.get("uptake_session")
        headers = {"X-Uptake-Page": "1"}
        assert c.post("/api/v1/predict", json=customer(), headers=headers).status_code == 200
        c.post("/logout")
        with httpx.Client(base_url=s.url, timeout=30, cookies={"uptake_session": cookie}) as stolen:
            assert stolen.post("/api/v1/predict", json=customer(), headers=headers).status_code == 401
            assert "Sign in" in stolen.get("/").text or "api_key" in stolen.get("/").text


def test_outputs_follow_the_umask(tmp_path: Path, quick_model: Path, bank_csv: Path) -> None:
    """Like any Unix tool: 0644 files and 0755 model directories under umask 022."""
    import subprocess
    import sys

    uptake = str(Path(sys.executable).with_name("uptake"))
    env = {**os.environ}
    script = (
        f"umask 022 && {uptake} predict {quick_model} {bank_csv} --out {tmp_path / 'out.csv'} && "
        f"{uptake} train {bank_csv} --model lightgbm --out {tmp_path / 'm'}"
    )
    subprocess.run(["bash", "-c", script], check=True, env=env, capture_output=True)
    assert (tmp_path / "out.csv").stat().st_mode & 0o777 == 0o644
    version = (tmp_path / "m").resolve()
    assert version.stat().st_mode & 0o777 == 0o755
    for p in version.rglob("*"):
        assert p.stat().st_mode & 0o777 == (0o755 if p.is_dir() else 0o644), p
