"""The service's side of the loop: customer ids in the audit log, ``/metrics`` and the ``/monitor`` page."""

from __future__ import annotations

import io
import re
import time
from pathlib import Path

import httpx
import pandas as pd
import pytest

from serve_live import customer, live_server
from uptake.audit.read import read_log
from uptake.serve.config import ServeConfig

KEY = "monitor-test-key"


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory, bank_csv: Path) -> Path:
    from uptake.train import TrainConfig, save, train_file

    return save(train_file(bank_csv, TrainConfig(model="lightgbm", seed=0)), tmp_path_factory.mktemp("sm") / "m")


def metric(text: str, name: str, **labels: str) -> float:
    """The value of one sample of the Prometheus text, matched on the labels given."""
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and not line.startswith(name + " "):
            continue
        if all(f'{k}="{v}"' in line for k, v in labels.items()):
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_ids_reach_the_audit_log_from_json_and_from_files(
    model_dir: Path, bank_df: pd.DataFrame, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    with live_server(ServeConfig([str(model_dir)], db_url=url)) as server, httpx.Client(base_url=server.url) as client:
        assert client.post("/api/v1/predict", json=customer(id="C-1")).status_code == 200
        assert client.post("/api/v1/predict", json=[customer(id=2), customer()]).status_code == 200
        for bad in (2.5, True, "x" * 129, {"a": 1}):
            r = client.post("/api/v1/predict", json=customer(id=bad))
            assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "id"], bad
        buf = io.BytesIO()
        bank_df.head(50).to_csv(buf, index=False)
        r = client.post("/api/v1/predict/file", files={"file": ("c.csv", buf.getvalue(), "text/csv")})
        assert r.status_code == 200
        assert server.audit.flush(30)
    log = read_log(url)
    assert log["customer_id"].iloc[:2].tolist() == ["C-1", "2"] and pd.isna(log["customer_id"].iloc[2])
    assert log["batch_id"].iloc[:3].isna().all()
    assert "input.id" not in log.columns  # the customer id is kept apart from the inputs (`id` is the row number)
    files = log[log["source"] == "file"]
    assert files["customer_id"].tolist() == [str(i) for i in bank_df["ID"].head(50)]
    assert files["batch_id"].nunique() == 1 and files["batch_id"].iloc[0] == files["request_id"].iloc[0]


def test_metrics_count_requests_scores_and_the_audit_writer(
    model_dir: Path, bank_df: pd.DataFrame, tmp_path: Path
) -> None:
    config = ServeConfig([str(model_dir)], db_url=f"sqlite:///{tmp_path / 'a.sqlite'}")
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        for _ in range(7):
            assert client.post("/api/v1/predict", json=customer()).status_code == 200
        assert client.post("/api/v1/predict", json=customer(Income="lots")).status_code == 422
        buf = io.BytesIO()
        bank_df.head(200).to_csv(buf, index=False)
        assert (
            client.post("/api/v1/predict/file", files={"file": ("c.csv", buf.getvalue(), "text/csv")}).status_code
            == 200
        )
        for _ in range(3):
            client.get(f"/no-such-page-{time.time()}")
        assert server.audit.flush(30)
        r = client.get("/metrics")
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
        text = r.text
    version = next(iter(server.app.state.models))
    assert metric(text, "uptake_http_requests_total", endpoint="/api/v1/predict", status="200", model=version) == 7
    assert metric(text, "uptake_http_requests_total", endpoint="/api/v1/predict", status="422") == 1
    assert metric(text, "uptake_http_requests_total", endpoint="other", status="404") == 3  # not one label per path
    assert metric(text, "uptake_http_request_duration_seconds_count", endpoint="/api/v1/predict", model=version) == 7
    assert metric(text, "uptake_predictions_total", model=version, source="api") == 7
    assert metric(text, "uptake_predictions_total", model=version, source="file") == 200
    assert metric(text, "uptake_score_count", model=version) == 207
    assert metric(text, "uptake_score_bucket", model=version, le="+Inf") == 207
    assert metric(text, "uptake_audit_written_rows_total") == 207
    assert metric(text, "uptake_audit_failed_rows_total") == 0 and metric(text, "uptake_audit_pending_rows") == 0
    buckets = [float(m.group(1)) for m in re.finditer(r'uptake_score_bucket\{le="[^"]+",model="[^"]+"\} (\S+)', text)]
    assert buckets == sorted(buckets)  # cumulative


def test_metrics_need_the_key_when_the_service_has_one(model_dir: Path, tmp_path: Path) -> None:
    config = ServeConfig([str(model_dir)], db_url=f"sqlite:///{tmp_path / 'a.sqlite'}", api_key=KEY)
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        assert client.get("/metrics").status_code == 401
        assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
        assert client.get("/metrics", headers={"Authorization": f"Bearer {KEY}"}).status_code == 200
        assert client.get("/metrics", headers={"X-API-Key": KEY}).status_code == 200


def test_the_monitor_page_shows_traffic_drift_and_realised_outcomes(
    model_dir: Path, bank_df: pd.DataFrame, bank_csv: Path, tmp_path: Path
) -> None:
    from uptake.audit.outcomes import import_outcomes

    url = f"sqlite:///{tmp_path / 'a.sqlite'}"
    config = ServeConfig([str(model_dir)], db_url=url, api_key=KEY)
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        assert "api_key" in client.get("/monitor").text  # signed out: the sign-in form, nothing of the log
        client.post("/login", data={"api_key": KEY})
        page = client.get("/monitor").text
        assert "Nothing scored in this window yet" in page
        rows = bank_df.drop(columns=["Personal Loan", "ZIP Code"]).rename(columns={"ID": "id"}).head(600)
        for start in range(0, 600, 100):
            batch = rows.iloc[start : start + 100].to_dict(orient="records")
            assert client.post("/api/v1/predict", json=batch, headers={"X-API-Key": KEY}).status_code == 200
        assert server.audit.flush(30)
        outcomes = tmp_path / "outcomes.csv"
        bank_df.head(600)[["ID", "Personal Loan"]].to_csv(outcomes, index=False)
        assert import_outcomes(url, outcomes, "ID", "Personal Loan").imported == 600
        r = client.get("/monitor", params={"window": "7d", "group": "Family"})
        assert r.status_code == 200 and "default-src 'self'" in r.headers["content-security-policy"]
        page = r.text
    assert "600 predictions in the audit log" in page
    assert 'class="light stable"' in page or 'class="light watch"' in page
    assert "is performing as promised" in page or "NOT performing as promised" in page
    assert "By Family" in page and "data:image/png;base64," in page
    assert "style=" not in page  # the CSP forbids inline styles: classes only
    assert "<script" not in page.split("</header>")[1]


def test_the_monitor_page_ignores_a_group_that_is_not_a_column(model_dir: Path, tmp_path: Path) -> None:
    config = ServeConfig([str(model_dir)], db_url=f"sqlite:///{tmp_path / 'a.sqlite'}")
    with live_server(config) as server, httpx.Client(base_url=server.url) as client:
        r = client.get("/monitor", params={"group": "../../etc/passwd", "window": "forever"})
        assert r.status_code == 200 and "passwd" not in r.text and 'value="30d" selected' in r.text
