"""``--model auto``: bagged candidates, stacked or greedily weighted on out-of-fold predictions, one safe directory."""

from __future__ import annotations

import html
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import average_precision_score

from cli_helpers import run_cli
from uptake.errors import UptakeInputError
from uptake.models.auto import CANDIDATES, AutoClassifier
from uptake.models.selection import LogitStacker, can_stack, greedy_weights, logit
from uptake.pipeline import Model
from uptake.train import TrainConfig, save, train


@pytest.fixture(scope="module")
def auto_model(bank_df, tmp_path_factory) -> tuple[object, Path]:
    trained = train(bank_df, TrainConfig(model="auto", time_limit=20, seed=0))
    return trained, save(trained, tmp_path_factory.mktemp("auto") / "m")


def test_leaderboard_records_every_candidate_and_weights_sum_to_one(auto_model) -> None:
    trained, path = auto_model
    meta = json.loads((path / "estimator" / "auto.json").read_text())
    board = meta["leaderboard"]
    assert [e["name"] for e in board] == [c[0] for c in CANDIDATES]
    trained_rows = [e for e in board if e["status"] == "trained"]
    assert len(trained_rows) >= 3 and all(0.5 < e["oof_pr_auc"] <= 1 for e in trained_rows)
    assert abs(sum(meta["weights"].values()) - 1) < 1e-9
    assert set(meta["weights"]) <= {e["name"] for e in trained_rows}
    # ~380 positives: enough for the stacker over every trained candidate, each with its coefficient
    assert set(meta["stacker"]["coefficients"]) == set(meta["member_folds"]) == {e["name"] for e in trained_rows}
    assert all(e["coefficient"] == round(meta["stacker"]["coefficients"][e["name"]], 6) for e in trained_rows)
    # refit by default: every combined candidate is one model trained on all rows, for its folds' mean rounds
    for name in meta["member_folds"]:
        entry = next(e for e in board if e["name"] == name)
        models = sorted((path / "estimator" / "members" / name).iterdir())
        assert isinstance(entry["refit"], dict), entry.get("refit")  # 20 s leaves the refits seconds to spare
        assert len(models) == meta["member_folds"][name] == 1
        assert entry["refit"]["rows"] == sum(trained.split_rows[s] for s in ("train", "validation"))
        if entry["family"] == "lightgbm":
            assert 1 <= entry["refit"]["n_estimators"] < 2000  # the folds stopped early; so does the refit
    assert not [p for p in (path / "estimator").rglob("*") if p.is_file() and p.read_bytes()[:2] == b"\x80\x04"]
    assert trained.test["pr_auc"] > 0.95
    card = Model.load(path).card
    assert card.model_type == "auto" and card.hyperparameters["leaderboard"] == board


def test_the_card_and_report_describe_the_combination_that_is_served(auto_model, tmp_path) -> None:
    from uptake.report.build import build_report

    _, path = auto_model
    card = Model.load(path).card
    hyper = card.hyperparameters
    meta = json.loads((path / "estimator" / "auto.json").read_text())
    assert hyper["combiner"] == "stacker" and "weights" not in hyper  # greedy weights are not served: not shown
    assert {m["name"] for m in hyper["members"]} == set(meta["member_folds"])
    assert all(m["coefficient"] == meta["stacker"]["coefficients"][m["name"]] for m in hyper["members"])
    for family in {m["family"] for m in hyper["members"]}:  # every library whose files are inside is named
        library = {"catboost": "catboost", "lightgbm": "lightgbm", "forest": "scikit-learn"}.get(family)
        assert library is None or library in card.versions, (family, card.versions)
    page = build_report(path, tmp_path / "auto.html").path.read_text(encoding="utf-8")  # the card's own story
    page = html.unescape(page)
    assert "logistic stacker on" in page and "auto's search" in page
    for m in hyper["members"]:
        assert f"{m['name']} ({m['family']}) {m['coefficient']:+.3f}" in page


def test_greedy_selection_ignores_noise_and_mixes_independent_models() -> None:
    rng = np.random.default_rng(0)
    y = (rng.random(2000) < 0.1).astype(int)
    good = np.clip(y * 0.3 + rng.random(2000) * 0.7, 0, 1)  # informative, far from perfect
    noise = rng.random(2000)
    w = greedy_weights({"good": good, "noise": noise}, y)
    assert w == {"good": 1.0}  # pure noise adds nothing, so it gets no weight
    other = np.clip(y * 0.3 + rng.random(2000) * 0.7, 0, 1)  # as good, independent errors: both are used
    w = greedy_weights({"good": good, "other": other}, y)
    assert set(w) == {"good", "other"} and abs(sum(w.values()) - 1) < 1e-12


def test_the_stacker_cancels_an_error_two_candidates_share_which_greedy_weights_cannot() -> None:
    """A candidate that has learnt mostly another's error is worth a negative weight; greedy's are in [0, 1]."""
    rng = np.random.default_rng(0)
    n = 12_000
    signal, shared = rng.normal(size=n), rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(3 * signal - 4)))).astype(int)
    sigmoid = lambda z: 1 / (1 + np.exp(-z))
    preds = {
        "good": sigmoid(3 * signal + 1.5 * shared - 4 + 0.3 * rng.normal(size=n)),
        "echo": sigmoid(1.5 * shared - 3 + 0.3 * rng.normal(size=n)),
    }
    fit, new = np.arange(n) < n // 2, np.arange(n) >= n // 2
    stacker = LogitStacker.fit({k: v[fit] for k, v in preds.items()}, y[fit])
    assert stacker.coefficients["echo"] < -0.5 < 0.5 < stacker.coefficients["good"]
    stacked = stacker.predict({k: v[new] for k, v in preds.items()})
    weights = greedy_weights({k: v[fit] for k, v in preds.items()}, y[fit])
    greedy = sum(w * preds[k][new] for k, w in weights.items())
    assert average_precision_score(y[new], stacked) > average_precision_score(y[new], greedy) + 0.02
    # the threshold's scores are cross-fitted: each row scored by a stacker fitted without it
    crossed = LogitStacker.cross_fitted({k: v[fit] for k, v in preds.items()}, y[fit])
    in_sample = stacker.predict({k: v[fit] for k, v in preds.items()})
    assert crossed.shape == in_sample.shape and 0 < np.abs(crossed - in_sample).max() < 0.2
    assert LogitStacker.from_json(json.loads(json.dumps(stacker.to_json()))) == stacker
    # 20 rows of the rarer class per coefficient, else greedy selection
    assert can_stack(2, y[:400]) == (min(y[:400].sum(), 400 - y[:400].sum()) >= 40)
    assert not can_stack(1, y) and not can_stack(3, np.r_[np.ones(59), np.zeros(5000)])
    assert np.isfinite(logit(np.array([0.0, 1.0]))).all()  # a forest's 0 and 1 are clipped, not infinite


def test_few_positives_are_weighted_greedily_and_sidecars_without_a_stacker_load(tmp_path) -> None:
    rng = np.random.default_rng(1)
    X = rng.normal(size=(3000, 4))
    y = (X[:, 0] + rng.normal(size=3000) > 3.2).astype(int)  # ~40 positives: 20 a coefficient would need 2 x 20
    assert 20 < y.sum() < 80
    est = AutoClassifier(time_limit=20, folds=3, candidates=("lightgbm", "random-forest", "extra-trees"), seed=0)
    est.fit(X[:2400], y[:2400], X_val=X[2400:], y_val=y[2400:])
    assert est.stacker_ is None and all("coefficient" not in e for e in est.leaderboard_)
    est.save(tmp_path / "est")
    meta = json.loads((tmp_path / "est" / "auto.json").read_text())
    assert meta["stacker"] is None
    del meta["stacker"]  # as releases before the stacker wrote it
    (tmp_path / "est" / "auto.json").write_text(json.dumps(meta))
    np.testing.assert_allclose(AutoClassifier.load(tmp_path / "est").predict_proba(X), est.predict_proba(X), atol=1e-12)


def test_loads_scores_identically_and_serves_through_the_fast_path(auto_model, bank_df) -> None:
    trained, path = auto_model
    m = Model.load(path)
    np.testing.assert_allclose(
        m.score(bank_df).probability, trained.fitted.pipeline.proba_clean(trained.prepared.clean), rtol=0, atol=1e-12
    )
    assert m.compile_fast() is not None
    rows = json.loads(bank_df[m.schema.feature_names].head(200).to_json(orient="records"))
    p, _ = m.score_rows(rows)
    np.testing.assert_allclose(p, m.score(bank_df.head(200)).probability, atol=1e-9)


def test_bagged_keeps_every_fold_model_and_old_directories_load_as_bagged(tmp_path) -> None:
    rng = np.random.default_rng(0)
    X = rng.normal(size=(3000, 5))
    y = (X[:, 0] + 0.5 * X[:, 1] + rng.normal(size=3000) > 1.8).astype(int)
    est = AutoClassifier(time_limit=8, folds=3, refit_full=False, seed=0).fit(
        X[:2400], y[:2400], X_val=X[2400:], y_val=y[2400:]
    )
    est.save(tmp_path / "est")
    meta = json.loads((tmp_path / "est" / "auto.json").read_text())
    assert meta["folds"] == 3 and meta["params"]["refit_full"] is False
    for name in meta["weights"]:
        folds = sorted((tmp_path / "est" / "members" / name).iterdir())
        assert len(folds) == meta["member_folds"][name] and len(folds) % 3 == 0  # whole repeats of k fold models
        assert "refit" not in next(e for e in meta["leaderboard"] if e["name"] == name)
    del meta["params"]["refit_full"]  # as the release before refitting wrote it
    (tmp_path / "est" / "auto.json").write_text(json.dumps(meta))
    loaded = AutoClassifier.load(tmp_path / "est")
    assert loaded.refit_full is False
    np.testing.assert_allclose(loaded.predict_proba(X), est.predict_proba(X), rtol=0, atol=1e-12)
    # the same search refit: one model per chosen candidate, trained on all 3,000 rows, unless time ran out for it
    refit = AutoClassifier(time_limit=8, folds=3, seed=0).fit(X[:2400], y[:2400], X_val=X[2400:], y_val=y[2400:])
    chosen = [e for e in refit.leaderboard_ if e["name"] in refit.weights_]
    for e in chosen:
        if isinstance(e["refit"], dict):
            assert len(refit.members_[e["name"]]) == 1 and e["refit"]["rows"] == 3000
        else:
            assert e["refit"].startswith("skipped") and len(refit.members_[e["name"]]) % 3 == 0
    assert any(isinstance(e["refit"], dict) for e in chosen)  # the refits' time is reserved before repeats


def test_a_tiny_time_limit_degrades_to_one_candidate_on_a_holdout(bank_df) -> None:
    trained = train(bank_df, TrainConfig(model="auto", time_limit=0.3, seed=0))
    est = trained.fitted.estimator
    assert est.folds_ == 1 and len(est.members_["lightgbm"]) == 1  # bagging would not fit: one holdout
    # its validation scores are the held-out model's own, so the threshold is chosen on unseen rows
    val_p = est.held_out_validation()
    assert len(val_p) == trained.split_rows["validation"]
    statuses = {e["name"]: e["status"] for e in est.leaderboard_}
    assert statuses["lightgbm"] == "trained"  # the first candidate always runs
    assert statuses["catboost"].startswith("skipped")  # seconds per fit: more than 0.3 s allows
    assert all(s == "trained" or s.startswith("skipped") for s in statuses.values())
    assert abs(sum(est.weights_.values()) - 1) < 1e-9 and trained.test["pr_auc"] > 0.9


def _only(meta: dict, name: str, family: str) -> None:
    """Make ``name`` the sidecar's one combined member, whichever combiner it records."""
    meta.update(weights={name: 1.0}, families={name: family}, member_folds={name: 1})
    if meta.get("stacker"):
        meta["stacker"] = {"coefficients": {name: 1.0}, "intercept": 0.0}


def _combined(meta: dict) -> list[str]:
    return list(meta["stacker"]["coefficients"] if meta.get("stacker") else meta["weights"])


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda m: m["weights"].update({"lightgbm": 5.0}), "sum to 1"),
        (lambda m: _only(m, "../../x", "lightgbm"), "not a member name"),
        (lambda m: m["families"].update({_combined(m)[0]: "ensemble"}), "members are"),
        (lambda m: _only(m, "network", "network"), "coded-network.json' not found"),
        (lambda m: m["params"].update(stacker="ridge"), "parameters stacker are unknown to this release"),
        (lambda m: m.update(stacker={"coefficients": {_combined(m)[0]: float("nan")}, "intercept": 0.0}), "finite"),
        (lambda m: m.update(stacker={"coefficients": [1.0], "intercept": 0.0}), "stacker:"),
    ],
)
def test_a_tampered_sidecar_is_refused_in_one_line(auto_model, tmp_path, change, message) -> None:
    est_dir = tmp_path / "estimator"
    shutil.copytree(auto_model[1] / "estimator", est_dir)
    meta = json.loads((est_dir / "auto.json").read_text())
    change(meta)
    (est_dir / "auto.json").write_text(json.dumps(meta))
    with pytest.raises(UptakeInputError, match=message):
        AutoClassifier.load(est_dir)


def _coded_table(n: int = 2500) -> tuple[np.ndarray, np.ndarray, list[tuple[str, str]]]:
    """A number, a three-way category (as auto's codes), a flag and a noise column; the outcome needs the category."""
    rng = np.random.default_rng(0)
    X = np.column_stack(
        [
            rng.normal(size=n),
            rng.integers(0, 3, n).astype(float),
            rng.integers(0, 2, n).astype(float),
            rng.normal(size=n),
        ]
    )
    y = (((X[:, 0] > 0.8) & (X[:, 1] == 2)) | (rng.random(n) < 0.03)).astype(int)
    return X, y, [("amount", "numeric"), ("segment", "categorical"), ("online", "binary"), ("noise", "numeric")]


@pytest.mark.parametrize("candidate", ["random-forest", "extra-trees", "lightgbm"])
def test_every_family_the_search_holds_refits_on_all_rows(candidate: str) -> None:
    """Each candidate's refit takes its fold models' sizes (numbers), whatever its family records."""
    X, y, layout = _coded_table()
    est = AutoClassifier(time_limit=60, folds=2, candidates=(candidate,), seed=0)
    est.set_layout(layout)
    est.fit(X[:2000], y[:2000], X_val=X[2000:], y_val=y[2000:])
    entry = est.leaderboard_[0]
    assert isinstance(entry["refit"], dict) and entry["refit"]["rows"] == len(X), entry["refit"]
    member = est.members_[candidate]
    assert len(member) == 1 and member[0].get_params()["seed"] == 0
    if candidate != "lightgbm":
        assert member[0].kind_ == candidate  # the kind the search names, not one chosen again without validation


def test_a_network_member_learns_its_own_encoding_and_round_trips(tmp_path) -> None:
    X, y, layout = _coded_table()
    est = AutoClassifier(time_limit=60, folds=2, candidates=("network",), seed=0)
    est.set_layout(layout)
    est.fit(X[:2000], y[:2000], X_val=X[2000:], y_val=y[2000:])
    assert [e["name"] for e in est.leaderboard_] == ["network"] and est.weights_ == {"network": 1.0}
    entry = est.leaderboard_[0]
    assert entry["status"] == "trained" and entry["oof_pr_auc"] > 0.5
    # a network is not refit on all rows: its fold models (k draws, averaged) are what its weight measured
    assert entry["refit"].startswith("not refit") and len(est.members_["network"]) % 2 == 0
    member = est.members_["network"][0]
    assert 1 <= member.refit_params()["epochs"] <= 300  # stopped early on a fifth of its own training rows
    # one-hot of the category's three codes beside the number's bins and the flag: the category is not a number
    assert member.codes_ == [1] and member.categories_ == [[0.0, 1.0, 2.0]] and member.flags_ == [2]
    est.save(tmp_path / "est")
    loaded = AutoClassifier.load(tmp_path / "est")
    p = est.predict_proba(X)[:, 1]
    np.testing.assert_array_equal(loaded.predict_proba(X)[:, 1], p)
    single = np.concatenate([loaded.predict_proba(X[i : i + 1])[:, 1] for i in range(40)])  # numpy replay
    np.testing.assert_allclose(single, p[:40], atol=1e-6)
    unseen = X[:5].copy()
    unseen[:, 1] = -1.0  # a category the preprocessor maps to "unknown": every one-hot input off, still a score
    assert np.isfinite(loaded.predict_proba(unseen)).all()
    sidecar = tmp_path / "est" / "members" / "network" / "fold-0" / "coded-network.json"
    meta = json.loads(sidecar.read_text())
    sidecar.write_text(json.dumps({**meta, "flags": []}))
    with pytest.raises(UptakeInputError, match="do not cover its 4 inputs once each"):
        AutoClassifier.load(tmp_path / "est")


@pytest.mark.parametrize("candidates", [("nope",), ()])
def test_candidates_must_name_known_ones(candidates) -> None:
    with pytest.raises(UptakeInputError, match="candidates must name some of lightgbm, catboost, random-forest"):
        AutoClassifier(candidates=candidates).check_params()


def test_time_limit_belongs_to_auto_only(bank_csv, tmp_path, capsys) -> None:
    code, _, err = run_cli(
        ["train", str(bank_csv), "--model", "lightgbm", "--time-limit", "5", "--out", str(tmp_path / "m")], capsys
    )
    assert code == 2 and "--time-limit: applies to --model auto" in err and "Traceback" not in err
    code, _, err = run_cli(
        ["train", str(bank_csv), "--model", "forest", "--bagged", "--out", str(tmp_path / "m")], capsys
    )
    assert code == 2 and "--refit-full/--bagged: applies to --model auto" in err and "Traceback" not in err


def test_on_one_holdout_the_network_member_is_the_cross_fitted_preset_weighted_as_it_serves() -> None:
    """folds=1 (a table too big to bag): the default preset's own cross-fitted members, trained and stopped on
    the training rows alone, so the validation scores that weigh and threshold them are those of the network
    as it serves (all members averaged) on rows none of them saw: flipping the validation labels changes
    nothing the network learnt."""
    X, y, layout = _coded_table(1200)
    fits = []
    for y_val in (y[900:], 1 - y[900:]):
        est = AutoClassifier(time_limit=300, folds=1, candidates=("network",), seed=0)
        est.set_layout(layout)
        est.fit(X[:900], y[:900], X_val=X[900:], y_val=y_val)
        fits.append(est)
    est = fits[0]
    entry = est.leaderboard_[0]
    assert est.folds_ == 1 and entry["status"] == "trained" and entry["params"]["n_models"] is None
    member = est.members_["network"][0]
    assert len(member.network_.models_) == 10  # the preset's members below 20,000 rows
    assert member.held_out_validation() is None  # never given the validation rows
    served = est.predict_proba(X[900:])[:, 1]
    np.testing.assert_allclose(est.held_out_validation(), served)
    np.testing.assert_array_equal(fits[1].predict_proba(X[900:])[:, 1], served)  # the labels never reached it
    assert entry["oof_pr_auc"] == pytest.approx(average_precision_score(y[900:], served))
    with pytest.raises(UptakeInputError, match="folds=1 searches on one holdout"):
        AutoClassifier(folds=1, candidates=("lightgbm",)).fit(X, y)


def test_a_big_table_is_searched_on_its_holdout_unless_folds_are_asked_for() -> None:
    """From HOLDOUT_ROWS labelled rows the validation split weighs the candidates (no k-fold bagging)."""
    from uptake.models.auto import HOLDOUT_ROWS

    rng = np.random.default_rng(0)
    n = HOLDOUT_ROWS
    X = rng.normal(size=(n, 3))
    y = (X[:, 0] + rng.normal(size=n) > 2).astype(int)
    cut = int(n * 0.8)
    est = AutoClassifier(time_limit=60, candidates=("lightgbm",), refit_full=False, seed=0)
    est.fit(X[:cut], y[:cut], X_val=X[cut:], y_val=y[cut:])
    assert est.folds_ == 1 and len(est.members_["lightgbm"]) == 1
    assert len(est.held_out_validation()) == n - cut
    bagged = AutoClassifier(time_limit=60, folds=2, candidates=("lightgbm",), refit_full=False, seed=0)
    bagged.fit(X[:cut], y[:cut], X_val=X[cut:], y_val=y[cut:])  # folds asked for: bagged at any size
    assert bagged.folds_ == 2
