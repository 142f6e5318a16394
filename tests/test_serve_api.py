"""The REST API against a real uvicorn server on loopback, once with SQLite and once with PostgreSQL.

Scores are checked against ``Model.score`` (the reference path) on the real bank
table, and every prediction against the audit rows in the real database.
"""

from __future__ import annotations

import io
import json
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

from serve_live import challenger_copy, customer, database, live_server
from uptake.audit.read import read_log
from uptake.pipeline import Model
from uptake.serve.config import ServeConfig

MAX_ROWS = 200
MAX_BODY = 256 * 1024


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def live(request, quick_model: Path, tmp_path_factory):
    tmp = tmp_path_factory.mktemp(f"serve-{request.param}")
    challenger = challenger_copy(quick_model, tmp)
    with database(request.param, tmp) as url:
        config = ServeConfig(
            [str(quick_model), str(challenger)],
            db_url=url,
            max_rows=MAX_ROWS,
            max_body_bytes=MAX_BODY,
            max_upload_bytes=8 << 20,
            max_file_rows=10_000,
        )
        with live_server(config) as server:
            yield server


@pytest.fixture(scope="module")
def model(quick_model: Path) -> Model:
    return Model.load(quick_model)


@pytest.fixture()
def client(live):
    with httpx.Client(base_url=live.url, timeout=60) as c:
        yield c


def audit_rows(live, request_id: str) -> pd.DataFrame:
    assert live.audit.flush(30)
    log = read_log(live.config.db_url)
    return log[log["request_id"] == request_id].sort_values("row_index")


# ---- one customer, many customers --------------------------------------------------------------------
def test_one_customer_matches_reference_path_and_is_audited(live, client, model) -> None:
    r = client.post(
        "/api/v1/predict", json=customer(Income=180, CCAvg=6.0, Education=3), headers={"X-Request-ID": "req-one-1"}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["request_id"] == "req-one-1" == r.headers["x-request-id"]
    assert body["threshold"] == pytest.approx(model.threshold)
    [pred] = body["predictions"]
    ref = model.score(pd.DataFrame([customer(Income=180, CCAvg=6.0, Education=3)])).probability[0]
    assert pred["probability"] == pytest.approx(ref, abs=1e-6)
    assert pred["decision"] == int(pred["probability"] >= model.threshold)
    assert pred["reasons"] == []  # only when asked for
    rows = audit_rows(live, "req-one-1")
    assert len(rows) == 1
    row = rows.iloc[0]
    assert row["probability"] == pytest.approx(pred["probability"])
    assert row["decision"] == pred["decision"] and row["source"] == "api"
    assert row["model_version"] == body["model_version"] and row["threshold"] == pytest.approx(model.threshold)
    assert row["Income"] == 180 and row["latency_ms"] > 0


def test_list_of_real_customers_matches_reference_path(live, client, model, bank_df) -> None:
    sample = bank_df.iloc[:150]
    payload = json.loads(sample[model.schema.feature_names].to_json(orient="records"))
    r = client.post("/api/v1/predict", json=payload, headers={"X-Request-ID": "req-list-1"})
    assert r.status_code == 200, r.text
    got = np.array([p["probability"] for p in r.json()["predictions"]])
    ref = model.score(sample).probability
    np.testing.assert_allclose(got, ref, atol=1e-6)
    rows = audit_rows(live, "req-list-1")
    assert len(rows) == 150
    np.testing.assert_allclose(rows["probability"].to_numpy(), got)
    assert rows["Age"].tolist() == sample["Age"].astype(float).tolist()


def test_reasons_on_request_match_uptake_explain(client, model) -> None:
    from uptake import explain

    people = [customer(Income=180, CCAvg=6.0, Education=3), customer(Income=30, Family=1), customer()]
    r = client.post("/api/v1/predict?reasons=true", json=people)
    assert r.status_code == 200, r.text
    got = [p["reasons"] for p in r.json()["predictions"]]
    clean, _ = model.schema.validate(pd.DataFrame(people))
    ref = explain.reasons(model, clean, k=3)  # the reference path end to end
    assert [[x["feature"] for x in g] for g in got] == [[x["feature"] for x in e] for e in ref]
    for g, e in zip(got, ref):
        for a, b in zip(g, e):
            assert a["effect"] == pytest.approx(b["effect"], abs=1e-4) and a["direction"] == b["direction"]
            assert a["text"] == b["text"]
    assert got[0] and got[0][0]["direction"] == "raises"


def test_null_means_unknown_and_is_imputed_like_training(client, model) -> None:
    r = client.post("/api/v1/predict", json=customer(Mortgage=None, Education=None))
    assert r.status_code == 200, r.text
    ref = model.score(pd.DataFrame([customer(Mortgage=np.nan, Education=np.nan)])).probability[0]
    assert r.json()["predictions"][0]["probability"] == pytest.approx(ref, abs=1e-6)


# ---- 422, 413, 404: named fields, never a 500 ----------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "field", "words"),
    [
        ({k: v for k, v in customer().items() if k != "Income"}, "Income", "required"),
        (customer(Income="lots"), "Income", "number"),
        (customer(Education="graduate"), "Education", "text in a column of number codes"),
        (customer(Online=2), "Online", "0 or 1"),
        (customer(CCAvg=True), "CCAvg", "number"),
    ],
)
def test_bad_customer_is_422_naming_the_field(client, body, field, words) -> None:
    r = client.post("/api/v1/predict", json=body)
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body", field]
    assert words in detail[0]["msg"]
    assert r.json()["message"].startswith(field)


def test_unusual_values_are_scored_flagged_and_logged(live, client, model) -> None:
    """Beyond the training range or unseen in training: scored as a file's rows are, and said so."""
    odd = [customer(Income=10_000), customer(Age=-5, Education=7), customer()]
    r = client.post("/api/v1/predict", json=odd, headers={"X-Request-ID": "req-unusual"})
    assert r.status_code == 200, r.text
    preds = r.json()["predictions"]
    assert [p["warnings"] for p in preds] == [
        ["Income above the training range"],
        ["Age below the training range", "Education unseen in training"],
        [],
    ]
    scored = model.score(pd.DataFrame(odd))
    np.testing.assert_allclose([p["probability"] for p in preds], scored.probability, atol=1e-6)
    assert [" ; ".join(w) for w in scored.flags.lists()] == [" ; ".join(p["warnings"]) for p in preds]
    rows = audit_rows(live, "req-unusual")
    assert rows["flags"].fillna("").tolist() == [
        "Income above the training range",
        "Age below the training range; Education unseen in training",
        "",
    ]


def test_bad_row_in_a_list_names_row_and_field(client) -> None:
    r = client.post("/api/v1/predict", json=[customer(), customer(), customer(Family="nine")])
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", 2, "Family"]
    assert r.json()["message"].startswith("row 3, Family")


@pytest.mark.parametrize("raw", [b"", b"{", b"null", b"[]", b"42", b'"x"', b"\xff\xfe"])
def test_malformed_bodies_are_422(client, raw) -> None:
    r = client.post("/api/v1/predict", content=raw, headers={"Content-Type": "application/json"})
    assert r.status_code == 422, (raw, r.status_code, r.text)


def test_row_cap_and_body_cap(client) -> None:
    r = client.post("/api/v1/predict", json=[customer()] * (MAX_ROWS + 1))
    assert r.status_code == 422 and "at most" in r.json()["detail"][0]["msg"]
    big = b"[" + b",".join([json.dumps(customer()).encode()] * 2000) + b"]"
    assert len(big) > MAX_BODY
    r = client.post("/api/v1/predict", content=big, headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and "limit" in r.json()["detail"]

    def chunks():  # no Content-Length: the cap must hold while streaming too
        for i in range(0, len(big), 8192):
            yield big[i : i + 8192]

    r = client.post("/api/v1/predict", content=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


def test_unknown_model_version_is_404(client) -> None:
    r = client.post("/api/v1/predict?model=nope", json=customer())
    assert r.status_code == 404 and "nope" in r.json()["detail"]


# ---- several versions -----------------------------------------------------------------------------------
def test_model_endpoint_names_champion_and_versions(client, model) -> None:
    info = client.get("/api/v1/model").json()
    assert info["champion"] == model.version == info["model"]["version"]
    assert info["model"]["champion"] is True and info["model"]["fast_path"] is True
    assert info["model"]["threshold"] == pytest.approx(model.threshold)
    assert info["model"]["threshold_rule"] == model.card.to_json()["threshold_rule"]
    assert info["model"]["metrics"]["test"]["pr_auc"] == pytest.approx(
        model.card.to_json()["metrics"]["test"]["pr_auc"]
    )
    assert [c["name"] for c in info["model"]["schema"]["columns"]] == model.schema.feature_names
    assert {m["version"] for m in info["models"]} == {model.version, "challenger"}
    assert "/" not in json.dumps(info["models"]).replace("\\/", "")  # no server paths
    other = client.get("/api/v1/model", params={"version": "challenger"}).json()
    assert other["model"]["champion"] is False and other["model"]["threshold"] == 0.5


def test_challenger_scores_with_its_own_threshold(live, client) -> None:
    r = client.post("/api/v1/predict?model=challenger", json=customer(Income=120), headers={"X-Request-ID": "req-chal"})
    body = r.json()
    assert body["model_version"] == "challenger" and body["threshold"] == 0.5
    p = body["predictions"][0]
    assert p["decision"] == int(p["probability"] >= 0.5)
    assert audit_rows(live, "req-chal")["model_version"].tolist() == ["challenger"]


# ---- files --------------------------------------------------------------------------------------------------
def _score_file(client, name: str, content: bytes, **params) -> httpx.Response:
    return client.post(
        "/api/v1/predict/file",
        files={"file": (name, content)},
        params=params,
        headers={"X-Request-ID": f"file-{name}-{time.monotonic_ns()}"},
    )


def test_csv_upload_returns_ranked_file_matching_reference(live, client, model, bank_csv, bank_df) -> None:
    r = _score_file(client, "customers.csv", bank_csv.read_bytes())
    assert r.status_code == 200, r.text
    assert r.headers["content-disposition"] == 'attachment; filename="scored-customers.csv"'
    out = pd.read_csv(io.BytesIO(r.content))
    assert len(out) == len(bank_df) == int(r.headers["x-uptake-rows"])
    assert out["rank"].tolist() == list(range(1, len(out) + 1))
    assert out["probability"].is_monotonic_decreasing
    ref = pd.Series(model.score(bank_df).probability, index=bank_df["ID"])
    np.testing.assert_allclose(out["probability"].to_numpy(), ref.loc[out["ID"]].to_numpy(), atol=1e-6)
    assert int(r.headers["x-uptake-positives"]) == int(out["decision"].sum())
    rows = audit_rows(live, r.headers["x-request-id"])
    assert len(rows) == len(bank_df) and set(rows["source"]) == {"file"}
    # the audit keeps the user's own row numbers (header is line 1)
    first = rows.iloc[0]
    assert first["row_index"] == 2 and first["Income"] == bank_df["Income"].iloc[0]


def test_xlsx_and_parquet_uploads(client, model, bank_xlsx, bank_df, tmp_path) -> None:
    r = _score_file(client, "bank.xlsx", bank_xlsx.read_bytes(), format="parquet")
    assert r.status_code == 200, r.text
    out = pd.read_parquet(io.BytesIO(r.content))
    assert len(out) == len(bank_df) and out["probability"].is_monotonic_decreasing
    pq = tmp_path / "bank.parquet"
    bank_df.iloc[:300].to_parquet(pq)
    r = _score_file(client, "bank.parquet", pq.read_bytes())
    assert r.status_code == 200 and len(pd.read_csv(io.BytesIO(r.content))) == 300


def test_file_with_a_bad_cell_names_it_or_skips_it(client, bank_df) -> None:
    df = bank_df.iloc[:50].copy()
    df["Income"] = df["Income"].astype(object)
    df.loc[7, "Income"] = "n/a-ish"
    content = df.to_csv(index=False).encode()
    r = _score_file(client, "bad.csv", content)
    assert r.status_code == 422
    assert r.json()["detail"].startswith("file 'bad.csv', column 'Income', row 9, value 'n/a-ish'")
    r = _score_file(client, "bad.csv", content, skip_invalid="true")
    assert r.status_code == 200
    assert r.headers["x-uptake-skipped"] == "1" and r.headers["x-uptake-rows"] == "49"
    assert "row 9" in r.headers["x-uptake-first-error"]


@pytest.mark.parametrize(
    ("name", "content", "words"),
    [
        ("data.json", b"{}", "unsupported file type"),
        ("noext", b"a,b\n1,2\n", "unsupported file type"),
        ("broken.xlsx", b"this is not a zip file", "broken.xlsx"),
        ("broken.parquet", b"PAR1 nope", "broken.parquet"),
        ("empty.csv", b"", "empty.csv"),
        ("cols.csv", b"a,b\n1,2\n", "missing"),
    ],
)
def test_unreadable_uploads_are_422_naming_the_file(client, name, content, words) -> None:
    r = _score_file(client, name, content)
    assert r.status_code == 422, r.text
    assert words in r.json()["detail"]
    assert "/tmp" not in r.json()["detail"]  # the server's temporary path never leaks


def test_file_row_cap(client, bank_df) -> None:
    big = pd.concat([bank_df] * 3).to_csv(index=False).encode()  # 15,000 rows > 10,000
    r = _score_file(client, "big.csv", big)
    assert r.status_code == 422 and "limit of 10,000" in r.json()["detail"]


def test_upload_over_the_byte_cap_is_413(client) -> None:
    r = _score_file(client, "huge.csv", b"x" * (9 << 20))
    assert r.status_code == 413


# ---- health and the audit log -----------------------------------------------------------------------------------
def test_health_reports_models_and_audit(client, live) -> None:
    client.post("/api/v1/predict", json=customer())
    live.audit.flush(30)
    h = client.get("/health").json()
    assert h["status"] == "ok" and h["problems"] == []
    assert h["audit"]["failed"] == 0 and h["audit"]["written"] >= 1
    assert h["audit"]["database"] == ("sqlite" if live.config.db_url.startswith("sqlite") else "postgresql")
    assert h["predictions_served"] >= h["audit"]["written"]
    assert all(m["fast_path"] for m in h["models"].values())


def test_every_served_prediction_is_in_the_log(client, live) -> None:
    for i in range(40):
        assert client.post("/api/v1/predict", json=customer(Age=30 + i % 20)).status_code == 200
    assert live.audit.flush(30)
    h = client.get("/health").json()
    from uptake.audit.read import count_rows

    assert count_rows(live.config.db_url) == h["predictions_served"] == h["audit"]["written"]


def test_openapi_documents_the_generated_request_model(client, model) -> None:
    spec = client.get("/openapi.json").json()
    cust = spec["components"]["schemas"]["Customer"]
    assert cust["required"] == model.schema.feature_names
    income = cust["properties"]["Income"]["anyOf"][0]
    assert "minimum" not in income and "maximum" not in income  # the public schema keeps the training ranges
    assert cust["properties"]["CCAvg"]["description"].startswith("Average monthly credit-card spending")
    assert {"/api/v1/predict", "/api/v1/predict/file", "/api/v1/model", "/health"} <= set(spec["paths"])
    assert client.get("/docs").status_code == 200
