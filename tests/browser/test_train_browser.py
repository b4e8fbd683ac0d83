"""End to end: a real `streamlit run dashboard/serve.py` server driven by Chromium (Playwright).

Starts a run from the Train form, watches the live progress and curves move, reloads the page
(the run id must survive in the URL), waits for the run to succeed, then visits Home and Predict.
Screenshots go to docs/screenshots/. Every wait is bounded by one budget (TEST_BUDGET_S): ~35 s
on an idle machine, ~70 s on a heavily loaded one.
"""

from __future__ import annotations

import re

import pytest

from core.runs.store import RunStore
from tests.browser.live_view import PROGRESS, live_charts, live_loss_step
from tests.browser.server import (
    SCREENSHOTS,
    TEST_BUDGET_S,
    Budget,
    chart_lines,
    dashboard_server,
    launch_chromium,
    new_page,
    screenshot,
    text_of,
)

pytestmark = pytest.mark.browser

# TEST_BUDGET_S: an idle machine needs ~35 s (the run: ~5 s TensorFlow start, ~6 s of
# batches). Override with TFLAB_BROWSER_BUDGET_S.


@pytest.fixture
def server(tmp_path):
    """(base url, runs folder) of a dashboard server; it and its workers end with the test."""
    with dashboard_server(tmp_path) as running:
        yield running


def test_train_watch_reload_and_predict(server):
    from playwright.sync_api import expect, sync_playwright

    url, runs = server
    budget = Budget(TEST_BUDGET_S)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = launch_chromium(pw, budget)
        try:
            page = new_page(browser)

            # ---- start a run from the form ---------------------------------------------------
            page.goto(f"{url}/train", timeout=budget.ms(20))
            page.get_by_text("Choose the settings and press").wait_for(timeout=budget.ms(20))
            form = page.get_by_test_id("stForm")
            form.get_by_role("combobox", name="Dataset", exact=True).click()
            page.get_by_role("option", name="shapes", exact=True).click()
            form.get_by_label("Epochs", exact=True).fill("3")
            form.get_by_label("Training examples (0 = all)", exact=True).fill("800")
            name = form.get_by_label("Run name (optional)", exact=True)
            name.fill("browser run")
            name.press("Tab")
            budget.mark("form filled")
            form.get_by_test_id("stBaseButton-primaryFormSubmit").click()

            page.wait_for_url(
                re.compile(r"[?&]run=[0-9]{8}-[0-9]{6}-[0-9a-f]{6}"), timeout=budget.ms(15)
            )
            run_id = re.search(r"[?&]run=([^&#]+)", page.url).group(1)
            store = RunStore(runs / "runs.sqlite")
            run = store.get_run(run_id)
            assert run is not None, f"{run_id} from the URL is not in the store"
            assert run.name == "browser run"
            assert (run.dataset, run.epochs) == ("shapes", 3)
            assert run.config["max_train_examples"] == 800

            budget.mark("run started")

            # ---- watch it move: progress text and the loss curve change while it runs --------
            progress = page.locator(PROGRESS)  # the live feed's line or st.progress
            steps_seen: list[str] = []
            curves_seen: list[str] = []
            shot_taken = False
            while budget.left() > 25:  # keep time for reload, Home and Predict
                text = text_of(progress)
                if text.startswith(("succeeded", "failed", "stopped", "interrupted")):
                    break
                step = re.search(r"epoch \d+/\d+ · step \d+/\d+", text)
                if step and step.group(0) not in steps_seen:
                    steps_seen.append(step.group(0))
                lines = chart_lines(page)  # the Plotly charts (none while the feed draws)
                live = live_charts(page)  # the light live charts: loss first (+ the others)
                loss = live_loss_step(page)  # the light live loss chart's newest step
                if loss and loss not in curves_seen:
                    curves_seen.append(loss)
                drawn = all(c["canvas"] > 0 and c["step"] is not None for c in live)
                # loss and accuracy at least, every one drawn
                all_drawn = bool(loss) and len(live) + len(lines) >= 2 and drawn and all(lines)
                if (
                    not shot_taken
                    and len(curves_seen) >= 3
                    and all_drawn
                    and "epoch 1/" not in text
                ):
                    screenshot(page, "train.png")
                    after = chart_lines(page)  # still all drawn: the PNG is not mid-redraw
                    live_after = live_charts(page)
                    shot_taken = (
                        len(after) == len(lines)
                        and all(after)
                        and len(live_after) == len(live)
                        and all(c["canvas"] > 0 for c in live_after)
                    )
                if shot_taken and len(steps_seen) >= 3 and len(curves_seen) >= 3:
                    break
                page.wait_for_timeout(250)
            assert len(steps_seen) >= 3, f"progress changed fewer than twice: {steps_seen}"
            assert len(curves_seen) >= 3, f"the live loss chart moved {len(curves_seen) - 1} times"
            assert shot_taken, "no screenshot of the running run with curves"

            budget.mark("watched")

            # ---- reload: same run from the URL -----------------------------------------------
            page.reload(timeout=budget.ms(20))
            assert f"run={run_id}" in page.url
            caption = page.get_by_test_id("stCaptionContainer").filter(has_text=f"run {run_id}")
            expect(caption.first).to_be_visible(timeout=budget.ms(20))
            header = page.get_by_test_id("stHeading").filter(has_text="browser run")
            assert re.search(r"running|succeeded", text_of(header, budget.ms(5))), text_of(header)

            budget.mark("reloaded")

            # ---- it ends: status, final metrics, curves --------------------------------------
            done = re.compile(r"^succeeded · 100%")
            expect(progress.first).to_have_text(done, timeout=budget.ms(100))  # slow on busy CI
            expect(header.filter(has_text="succeeded").first).to_be_visible(timeout=budget.ms(10))
            test_accuracy = page.get_by_test_id("stMetric").filter(has_text="test accuracy")
            expect(test_accuracy).to_have_count(1, timeout=budget.ms(10))
            # loss and accuracy at least; the first Plotly chart of a tab loads Plotly's code
            # (a live run's charts are canvases), seconds on a busy machine
            page.wait_for_function(
                "document.querySelectorAll('[data-testid=\"stPlotlyChart\"]').length >= 2",
                timeout=budget.ms(30),
            )
            assert store.get_run(run_id).status == "succeeded"
            assert f"run={run_id}" in page.url

            budget.mark("run ended")

            # Predict loads TensorFlow and the model in the server: start it in a second tab now
            # so that it overlaps with the Home checks.
            predict = new_page(browser)
            predict.goto(f"{url}/predict", timeout=budget.ms(20))

            # ---- home lists the run ----------------------------------------------------------
            page.goto(url, timeout=budget.ms(20))
            heading = page.get_by_role("heading", name="TF Lab")
            expect(heading).to_be_visible(timeout=budget.ms(20))
            table = page.get_by_test_id("stDataFrame")
            expect(table).to_be_visible(timeout=budget.ms(10))
            # the grid paints a canvas; its accessible <table> carries the cell text
            expect(table.locator("table").first).to_contain_text(run_id, timeout=budget.ms(10))
            expect(table.locator("table").first).to_contain_text("succeeded")
            screenshot(page, "home.png", show=table)

            budget.mark("home shown")

            # ---- predict with the new model --------------------------------------------------
            predict.get_by_role("combobox", name="Run", exact=True).click(timeout=budget.ms(20))
            predict.get_by_role("option", name=re.compile(re.escape(run_id))).click()
            prediction = predict.get_by_test_id("stMetric").filter(has_text="Prediction")
            expect(prediction).to_be_visible(timeout=budget.ms(45))
            charts = predict.get_by_test_id("stPlotlyChart")
            expect(charts).to_have_count(1, timeout=budget.ms(10))
            assert f"run={run_id}" in predict.url
            screenshot(predict, "predict.png")
            budget.mark("predicted")
        finally:
            browser.close()
    assert budget.left() > 0
