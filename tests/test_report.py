"""The manager's HTML report: every section and figure present, self-contained, renders in Chromium."""

from __future__ import annotations

import base64
import json
import re
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest

from cli_helpers import run_cli
from uptake.report import SECTIONS, build_report

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "test-artifacts"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


class Outline(HTMLParser):
    """Headings (h2 text), img srcs and every URL-bearing attribute of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.headings: list[str] = []
        self.images: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.sections: list[str] = []
        self._in_h2 = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "h2":
            self._in_h2 = True
            self.headings.append("")
        if tag == "img":
            self.images.append(a)
        if tag == "section":
            self.sections.append(a.get("id", ""))
        for key in ("src", "href"):
            if key in a:
                self.urls.append(a[key])

    def handle_endtag(self, tag: str) -> None:
        if tag == "h2":
            self._in_h2 = False

    def handle_data(self, data: str) -> None:
        if self._in_h2:
            self.headings[-1] += data


def outline(html: str) -> Outline:
    o = Outline()
    o.feed(html)
    return o


def decoded_png(src: str) -> bytes:
    prefix = "data:image/png;base64,"
    assert src.startswith(prefix), src[:40]
    return base64.b64decode(src[len(prefix) :], validate=True)


def section_text(html: str, sid: str) -> str:
    start = html.index(f'<section id="{sid}"')
    return html[start : html.index("</section>", start)]


@pytest.fixture(scope="module")
def full_report(quick_model: Path, bank_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The report on the training file itself (so with train and test curves) and a leaderboard."""
    out_dir = tmp_path_factory.mktemp("report")
    compare = out_dir / "compare"
    compare.mkdir()
    (compare / "leaderboard.json").write_text(
        json.dumps(
            {
                "leaderboard": [
                    {
                        "model": "lightgbm",
                        "pr_auc_mean": 0.91,
                        "pr_auc_std": 0.02,
                        "roc_auc_mean": 0.99,
                        "f1_mean": 0.85,
                    },
                    {
                        "model": "network:default",
                        "pr_auc_mean": 0.93,
                        "pr_auc_std": 0.015,
                        "roc_auc_mean": 0.99,
                        "f1_mean": 0.86,
                    },
                ]
            }
        )
    )
    out = out_dir / "report.html"
    build_report(
        quick_model,
        out,
        data=bank_csv,
        compare=compare,
        contact_cost=4,
        accept_value=120,
        groups=["Family", "Age:35,45,55"],
    )
    return out


# ---- structure --------------------------------------------------------------------------------------
def test_every_section_heading_is_present(full_report: Path) -> None:
    o = outline(full_report.read_text(encoding="utf-8"))
    assert [h.strip() for h in o.headings] == [title for _, title in SECTIONS]
    assert o.sections == [sid for sid, _ in SECTIONS]


def test_every_image_is_an_embedded_non_empty_png_also_written_beside(full_report: Path) -> None:
    html = full_report.read_text(encoding="utf-8")
    o = outline(html)
    files_dir = full_report.parent / "report_files"
    names = [img["data-file"] for img in o.images]
    expected = {
        "class_balance.png",
        "income_by_outcome.png",
        "ccavg_by_outcome.png",
        "learning_curves.png",
        "confusion_matrix.png",
        "roc_pr.png",
        "gains_lift.png",
        "profit.png",
        "calibration.png",
        "importance_permutation.png",
        "leaderboard.png",
    }
    assert set(names) == expected
    assert sorted(p.name for p in files_dir.iterdir()) == sorted(names)
    for img in o.images:
        data = decoded_png(img["src"])
        assert data.startswith(PNG_SIGNATURE)
        assert len(data) > 1024, img["data-file"]
        assert img.get("alt")
        assert (files_dir / img["data-file"]).read_bytes() == data


def test_report_is_self_contained(full_report: Path) -> None:
    html = full_report.read_text(encoding="utf-8")
    o = outline(html)
    external = [u for u in o.urls if not (u.startswith("data:") or u.startswith("#"))]
    assert external == []
    assert "http://" not in html and "https://" not in html
    assert "<script" not in html.lower()


def test_report_words_the_numbers_for_a_manager(full_report: Path) -> None:
    html = full_report.read_text(encoding="utf-8")
    decisions = section_text(html, "decisions")
    for words in ("acceptors found", "acceptors missed", "wasted calls", "correctly left alone"):
        assert words in decisions
    assert "held-out test split (1,000 customers" in decisions
    ranking = section_text(html, "ranking")
    assert "train rows (solid) against the held-out test rows" in ranking
    campaign = section_text(html, "campaign")
    assert "If we call the top 10% (100 customers), we reach" in campaign
    assert "4 per call and 120 per accepted offer" in campaign
    assert campaign.count("<tr>") == 11  # header + ten deciles
    calibration = section_text(html, "calibration")
    assert "class-weight" in calibration and "Brier" in calibration
    assert "isotonic" in calibration and "Measured on the validation split" in calibration
    # advice only where it helps, with the numbers either way
    assert ("No calibrator is recommended" in calibration) != ("lowers the Brier score by" in calibration)
    assert "ten bins of equal width" in calibration
    summary = section_text(html, "summary")
    assert "trained on 3,200 of 5,000 labelled customers, tuned on 800 more" in summary
    card = section_text(html, "model-card")
    for field in ("data fingerprint (SHA-256)", "imbalance strategy", "threshold rule", "software", "created"):
        assert field in card
    comparison = section_text(html, "comparison")
    assert comparison.index("network:default") < comparison.index("lightgbm")  # best first
    assert "ahead of lightgbm by 0.020" in comparison


def test_model_card_carries_the_data_fingerprint(full_report: Path, quick_model: Path) -> None:
    meta = json.loads((quick_model / "metadata.json").read_text())
    card = section_text(full_report.read_text(encoding="utf-8"), "model-card")
    assert meta["data"]["sha256"] in card
    assert f"{meta['threshold']:.4f}" in card


@pytest.mark.browser
def test_chromium_renders_the_report_without_failed_requests(full_report: Path) -> None:
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            failed: list[str] = []
            requested: list[str] = []
            page.on("requestfailed", lambda r: failed.append(r.url))
            page.on("request", lambda r: requested.append(r.url))
            response = page.goto(full_report.as_uri(), wait_until="load")
            assert response is not None and response.ok
            assert failed == []
            assert all(u.startswith(("file:", "data:")) for u in requested), requested
            headings = page.locator("h2").all_inner_texts()
            assert [h.strip() for h in headings] == [title for _, title in SECTIONS]
            sizes = page.eval_on_selector_all(
                "img", "els => els.map(e => [e.complete, e.naturalWidth, e.naturalHeight])"
            )
            assert len(sizes) == 11
            assert all(done and w > 200 and h > 100 for done, w, h in sizes), sizes
            shot = ARTIFACTS / "report_full.png"
            page.screenshot(path=str(shot), full_page=True)
            assert shot.read_bytes().startswith(PNG_SIGNATURE) and shot.stat().st_size > 50_000
        finally:
            browser.close()


# ---- other inputs -------------------------------------------------------------------------------------
def test_report_without_data_uses_the_stored_results(quick_model: Path, tmp_path: Path) -> None:
    result = build_report(quick_model, tmp_path / "bare.html")
    html = result.path.read_text(encoding="utf-8")
    o = outline(html)
    assert [h.strip() for h in o.headings] == [title for _, title in SECTIONS]
    assert {img["data-file"] for img in o.images} == {
        "class_balance.png",
        "learning_curves.png",
        "confusion_matrix.png",
    }
    assert "stored in the model" in section_text(html, "decisions")
    assert "Needs customers to rank (--data)" in section_text(html, "campaign")
    for img in o.images:
        assert len(decoded_png(img["src"])) > 1024


def test_report_on_another_file_shows_that_file_only(quick_model: Path, bank_df: pd.DataFrame, tmp_path: Path) -> None:
    other = tmp_path / "last_campaign.csv"
    bank_df.sample(800, random_state=1).to_csv(other, index=False)
    result = build_report(quick_model, tmp_path / "other.html", data=other)
    html = result.path.read_text(encoding="utf-8")
    assert "is not the file the model was trained on" in section_text(html, "ranking")
    assert "all 800 customers of last_campaign.csv" in section_text(html, "campaign")
    assert "roc_pr.png" in result.figures and "importance_permutation.png" in result.figures


def test_report_on_unlabelled_customers_gives_expected_figures(
    quick_model: Path, bank_df: pd.DataFrame, tmp_path: Path
) -> None:
    new = tmp_path / "new.csv"
    bank_df.drop(columns=["Personal Loan"]).head(300).to_csv(new, index=False)
    result = build_report(quick_model, tmp_path / "new.html", data=new)
    html = result.path.read_text(encoding="utf-8")
    assert "expect to reach" in section_text(html, "campaign")
    assert "Needs a labelled table" in section_text(html, "ranking")
    assert {"scores.png", "gains_lift.png", "profit.png"} <= set(result.figures)


def test_rewriting_a_report_replaces_its_figure_folder_whole(quick_model: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.html"
    build_report(quick_model, out)
    stale = tmp_path / "r_files" / "stale.png"
    stale.write_bytes(b"old")
    build_report(quick_model, out)
    assert not stale.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.html", "r_files"]  # no temp leftovers


# ---- the command and its bad input ----------------------------------------------------------------------


def test_report_command(quick_model: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "cli.html"
    code, stdout, err = run_cli(["report", str(quick_model), "--out", str(out)], capsys)
    assert code == 0, err
    assert out.exists() and "Report written to" in stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--out", "{tmp}/report.pdf"], "must end in .html"),
        (["--out", "{tmp}/missing/report.html"], "does not exist"),
        (["--out", "{tmp}/r.html", "--contact-cost", "0"], "--contact-cost 0.0: must be a positive"),
        (["--out", "{tmp}/r.html", "--accept-value", "-1"], "--accept-value -1.0: must be a positive"),
        (["--out", "{tmp}/r.html", "--compare", "{tmp}/nowhere"], "no such comparison directory"),
        (["--out", "{tmp}/r.html", "--compare", "{tmp}"], "no JSON leaderboard"),
    ],
)
def test_report_bad_input_is_one_line_exit_2(
    quick_model: Path, tmp_path: Path, args: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    code, _, err = run_cli(["report", str(quick_model), *args], capsys)
    assert code == 2, err
    assert message in err and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob("*.html"))


def test_report_refuses_a_directory_that_is_not_a_model(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run_cli(["report", str(tmp_path), "--out", str(tmp_path / "r.html")], capsys)
    assert code == 2 and "not an uptake model" in err


# ---- a model without history, with a calibrator ----------------------------------------------------------
@pytest.fixture(scope="module")
def calibrated_lightgbm(bank_csv: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from uptake.train import TrainConfig, save, train_file

    out = tmp_path_factory.mktemp("models") / "lgb"
    save(train_file(bank_csv, TrainConfig(model="lightgbm", calibrate="isotonic", seed=0)), out)
    return out


def test_report_for_a_calibrated_model_without_history(
    calibrated_lightgbm: Path, bank_csv: Path, tmp_path: Path
) -> None:
    result = build_report(calibrated_lightgbm, tmp_path / "lgb.html", data=bank_csv)
    html = result.path.read_text(encoding="utf-8")
    assert [h.strip() for h in outline(html).headings] == [title for _, title in SECTIONS]
    assert "keeps no per-epoch history" in section_text(html, "learning")
    calibration = section_text(html, "calibration")
    assert "carries a calibrator (isotonic) fitted on validation data" in calibration
    assert "isotonic" in section_text(html, "model-card")
    assert "learning_curves.png" not in result.figures and "calibration.png" in result.figures


def test_reasons_survive_an_isotonic_calibrator(calibrated_lightgbm: Path, bank_df: pd.DataFrame) -> None:
    """Isotonic calibration maps most customers to exactly 0; their reasons must not vanish."""
    from uptake.explain import reasons
    from uptake.pipeline import Model

    model = Model.load(calibrated_lightgbm)
    clean, _ = model.schema.validate(bank_df.head(200))
    p = model.proba_clean(clean)
    flat = p == p.min()
    assert flat.sum() > 50  # the plateau this test is about
    rs = reasons(model, clean)
    # trees ignore many features for a given customer, so not always three, but never none
    assert all(len(rs[i]) >= 1 for i in range(200) if flat[i])
    assert sum(len(rs[i]) == 3 for i in range(200) if flat[i]) > 0.8 * flat.sum()
    assert all(abs(r["probability_change"]) <= 1 for row in rs for r in row)


def test_the_fairness_section_compares_the_groups_asked_for(full_report: Path) -> None:
    html = full_report.read_text(encoding="utf-8")
    section = html.split('<section id="fairness"')[1].split("</section>")[0]
    assert "By Family (" in section and "By Age:35,45,55 (" in section
    for label in ("under 35", "35-45", "45-55", "55 and over"):
        assert f"<td>{label}</td>" in section
    assert "four-fifths" in section
    # the same intervals as `uptake fairness`: every judged rate with its 95% interval in brackets
    assert "95%, stratified bootstrap of 1000 resamples" in section
    assert re.search(r"<td[^>]*>\d+\.\d%\s\(\d+\.\d%-\d+\.\d%\)</td>", section)


def test_a_calibrator_is_advised_only_when_it_lowers_the_validation_brier() -> None:
    import numpy as np

    from uptake.report.sections.calibration import MIN_GAIN, crossfitted

    rng = np.random.default_rng(0)
    truth = rng.uniform(0, 0.3, 4000)
    y = (rng.random(4000) < truth).astype(int)
    honest = crossfitted("sigmoid", y, truth)
    inflated = crossfitted("sigmoid", y, np.sqrt(truth))  # probabilities pushed up, as class weights do
    brier = lambda p: float(np.mean((p - y) ** 2))
    assert brier(honest) > (1 - MIN_GAIN) * brier(truth)  # nothing to gain: no advice
    assert brier(inflated) < (1 - MIN_GAIN) * brier(np.sqrt(truth))  # a real gain: advised
    assert crossfitted("sigmoid", y[:30], truth[:30]) is None  # too few acceptors in half of 30 rows: no advice
