"""The page in a real browser (Debian's Chromium through Playwright) against a live server.

Each step saves a screenshot under test-artifacts/serve/ for a person to look at.
"""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pandas as pd
import pytest

from serve_live import CHROMIUM, live_server
from uptake.serve.config import ServeConfig

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason=f"browser tests need Chromium at {CHROMIUM} (apt install chromium)"
    ),
]

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "serve"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
KEY = "browser-test-key"


@pytest.fixture(scope="module")
def server(quick_model, tmp_path_factory):
    db = tmp_path_factory.mktemp("browser") / "audit.sqlite"
    with live_server(ServeConfig([str(quick_model)], db_url=f"sqlite:///{db}")) as s:
        yield s


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    errors: list[str] = []
    pg.on("pageerror", lambda exc: errors.append(str(exc)))
    # JavaScript errors fail the test; Chromium's note on a 4xx answer the test asked for does not.
    pg.on(
        "console",
        lambda msg: (
            errors.append(msg.text)
            if msg.type == "error" and not msg.text.startswith("Failed to load resource")
            else None
        ),
    )
    yield pg
    context.close()
    assert errors == [], f"browser console errors: {errors}"


def shot(pg, name: str, full: bool = True) -> None:
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full)


def field(pg, name: str):
    return pg.locator(f'.field[data-name="{name}"]').locator("input, select")


def fill_customer(pg, **values) -> None:
    for name, value in values.items():
        el = field(pg, name)
        if el.evaluate("e => e.tagName") == "SELECT":
            el.select_option(str(value))
        else:
            el.fill(str(value))


def test_score_one_customer(server, page, quick_model) -> None:
    # served disabled, so a click or Enter before the script has the forms cannot submit them natively
    # (a GET with the customer's fields in the address); the script enables them once it does
    html = httpx.get(server.url).text
    assert re.search(r'id="score-button"[^>]*\bdisabled\b', html) and re.search(
        r'id="upload-button"[^>]*\bdisabled\b', html
    )
    page.goto(server.url)
    assert page.locator("#score-button").is_enabled() and page.locator("#upload-button").is_enabled()
    assert page.title().startswith("uptake")
    assert page.locator(".field").count() == 11
    assert field(page, "Income").input_value() == "64"  # training median as the default
    assert "credit-card spending" in page.locator('.field[data-name="CCAvg"] .help').inner_text()
    assert re.fullmatch(r"0\.\d{3}", page.locator(".metrics dt:text('PR-AUC') + dd").inner_text())
    shot(page, "01-page")

    fill_customer(page, Income=180, CCAvg=6.0, Education=3, **{"CD Account": 1})
    with page.expect_response(lambda r: "/api/v1/predict?" in r.url) as answer:
        page.click("#score-button")
    page.wait_for_selector("#result-body:not([hidden])")
    sent = answer.value.request.post_data_json
    assert sent["Income"] == 180 and sent["Education"] == 3 and sent["CD Account"] == 1 and sent["Family"] == 1
    shown = page.locator("#prob-value").inner_text()
    # the page shows what the API says for exactly the customer it sent
    p = httpx.post(f"{server.url}/api/v1/predict?reasons=true", json=sent).json()["predictions"][0]
    assert shown == page.evaluate("p => window.uptakeFormat(p)", p["probability"])
    assert float(shown.rstrip("%")) == pytest.approx(100 * p["probability"], abs=0.05)
    decision = page.locator("#decision").inner_text()
    assert ("Likely to take up" in decision) == (p["decision"] == 1)
    width = page.locator("#prob-fill").evaluate("e => parseFloat(e.style.width)")
    assert width == pytest.approx(100 * p["probability"], abs=0.01)
    assert p["reasons"], "uptake.explain gives this customer reasons"
    items = page.locator("#reasons li")
    assert items.count() == len(p["reasons"])
    assert [t.strip() for t in items.all_inner_texts()] == [
        f"{'▲' if r['effect'] >= 0 else '▼'} {r['text']}" for r in p["reasons"]
    ]
    assert "Income 180 raises the chance" in items.all_inner_texts()[0] + items.all_inner_texts()[1]
    shot(page, "02-result")


def test_an_unusual_value_is_scored_and_said_so(server, page) -> None:
    page.goto(server.url)
    fill_customer(page, Income=5000)
    page.click("#score-button")
    page.wait_for_selector("#result-body:not([hidden])")
    warning = page.locator("#warnings")
    assert warning.is_visible() and "Income above the training range" in warning.inner_text()
    shot(page, "03b-unusual-value")


def test_a_wrong_value_shows_a_readable_message(server, page) -> None:
    page.goto(server.url)
    fill_customer(page, Income="1e999")
    page.click("#score-button")
    message = page.locator('.field[data-name="Income"] .error')
    message.wait_for()
    assert message.inner_text() == "Enter a number."
    assert "correct the highlighted value" in page.locator("#form-error").inner_text()
    assert page.locator("#result-body").is_hidden()
    assert page.evaluate("document.activeElement.name") == "Income"
    shot(page, "03-wrong-value")
    # typing a fix clears the message, and scoring works again
    fill_customer(page, Income=120)
    assert message.inner_text() == ""
    page.click("#score-button")
    page.wait_for_selector("#result-body:not([hidden])")


def test_server_side_422_is_shown_on_the_field(server, page) -> None:
    """If a value gets past the page's own checks, the API's 422 lands on the right field."""
    page.goto(server.url)
    page.evaluate("""() => { const s = document.querySelector('.field[data-name="Education"] select');
                             const o = document.createElement('option'); o.value = 'graduate';
                             o.textContent = 'graduate'; s.append(o); s.value = 'graduate'; }""")
    page.click("#score-button")
    message = page.locator('.field[data-name="Education"] .error')
    message.wait_for()
    assert "text in a column of number codes (1, 2, 3)" in message.inner_text()
    shot(page, "04-server-422")


def test_upload_and_download_a_scored_file(server, page, bank_csv, tmp_path) -> None:
    page.goto(server.url)
    page.set_input_files("#upload-file", str(bank_csv))
    page.click("#upload-button")
    page.wait_for_selector("#upload-result:not([hidden])", timeout=60_000)
    assert page.locator("#upload-summary").inner_text().startswith("Scored 5,000 customers")
    assert page.locator("#preview tbody tr").count() == 10
    assert page.locator("#preview tbody tr").first.locator("td").first.inner_text() == "1"
    page.locator("#upload-card").scroll_into_view_if_needed()
    shot(page, "05-upload")
    with page.expect_download() as info:
        page.click("#download-link")
    download = info.value
    assert download.suggested_filename == "scored-Bank_Personal_Loan_Modelling.csv"
    path = tmp_path / download.suggested_filename
    download.save_as(path)
    scored = pd.read_csv(path)
    assert len(scored) == 5000 and scored["rank"].tolist() == list(range(1, 5001))
    assert scored["probability"].is_monotonic_decreasing


def test_upload_error_is_readable(server, page, tmp_path) -> None:
    bad = tmp_path / "wrong-columns.csv"
    bad.write_text("name,amount\nann,3\n")
    page.goto(server.url)
    page.set_input_files("#upload-file", str(bad))
    page.click("#upload-button")
    error = page.locator("#upload-error")
    error.wait_for()
    assert error.inner_text().startswith("file 'wrong-columns.csv', column 'Age': required feature column is missing")
    shot(page, "06-upload-error")


def test_phone_sized_screen(server, browser) -> None:
    context = browser.new_context(
        viewport={"width": 390, "height": 844}, device_scale_factor=2, is_mobile=True, has_touch=True
    )
    pg = context.new_page()
    try:
        pg.goto(server.url)
        overflow = pg.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, f"page is {overflow}px wider than the phone"
        shot(pg, "07-phone")
        fill_customer(pg, Income=150, CCAvg=4.5)
        pg.click("#score-button")
        pg.wait_for_selector("#result-body:not([hidden])")
        pg.locator("#result").scroll_into_view_if_needed()
        shot(pg, "08-phone-result", full=False)
        box = pg.locator("#score-button").bounding_box()
        assert box is not None and box["height"] >= 40  # a thumb can hit it
    finally:
        context.close()


def test_page_with_api_key_signs_in_then_scores(quick_model, browser, tmp_path) -> None:
    config = ServeConfig([str(quick_model)], db_url=f"sqlite:///{tmp_path / 'a.sqlite'}", api_key=KEY)
    with live_server(config) as keyed:
        context = browser.new_context(viewport={"width": 1000, "height": 700})
        pg = context.new_page()
        try:
            pg.goto(keyed.url)
            pg.fill("#api_key", "wrong")
            pg.click("button[type=submit]")
            assert pg.locator(".error").inner_text() == "That key is not right."
            shot(pg, "09-sign-in-error", full=False)
            pg.fill("#api_key", KEY)
            pg.click("button[type=submit]")
            pg.wait_for_selector("#customer-form")
            pg.click("#score-button")
            pg.wait_for_selector("#result-body:not([hidden])")
            shot(pg, "10-signed-in-result", full=False)
        finally:
            context.close()


def test_the_monitor_page_in_a_browser(server, page, bank_df) -> None:
    rows = bank_df.drop(columns=["Personal Loan", "ZIP Code", "ID"]).head(300).to_dict(orient="records")
    assert httpx.post(f"{server.url}/api/v1/predict", json=rows, timeout=30).status_code == 200
    assert server.audit.flush(30)
    page.goto(f"{server.url}/monitor?window=all")
    assert page.locator("h1").inner_text() == "Monitor"
    assert page.locator("#drift .light").count() >= 12  # a light per column, the score and the worst band
    assert page.locator("#traffic img.chart").count() == 2
    shot(page, "11-monitor")
    page.select_option("#group", "Family")
    page.click("#monitor-window button[type=submit]")
    page.wait_for_url(re.compile(r".*group=Family.*"))
    assert "no prediction has an imported outcome" in page.locator("#outcomes").inner_text()
    shot(page, "12-monitor-no-outcomes", full=False)


def test_docs_render_every_operation_offline(server, page) -> None:
    # Swagger UI 5 from the installed package: it reads FastAPI's OpenAPI 3.1 (Swagger UI 4 could not)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    page.goto(f"{server.url}/docs")
    page.wait_for_selector(".opblock-summary-path", timeout=20_000)
    shot(page, "docs")
    assert "Unable to render" not in page.content()
    paths = {p.strip().replace("\u200b", "") for p in page.locator(".opblock-summary-path").all_inner_texts()}
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert spec["openapi"].startswith("3.1")
    assert paths == set(spec["paths"]) and "/api/v1/predict" in paths
    assert all(u.startswith(server.url) or u.startswith("data:") for u in requested), requested  # nothing from a CDN
