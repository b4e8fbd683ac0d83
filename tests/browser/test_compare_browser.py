"""End to end: Compare -> 'Clone & tweak' -> Train, in Chromium against a real dashboard server.

Two finished runs are written straight into the server's run store (no training). The test opens
/compare?runs=a,b, waits for the overlaid curves (both rows ticked in the table), opens the
Manage tab, presses run a's 'Clone & tweak' button (one click) to /train?clone=a, checks the
prefilled form, changes the learning rate and presses Train: the new run must carry the new
rate and the rest of run a's config. The worker it starts (TensorFlow) is killed at the end.
Screenshot: docs/screenshots/compare.png. Every wait is bounded by one budget (TEST_BUDGET_S,
TFLAB_BROWSER_BUDGET_S): ~15 s on an idle machine.
"""

from __future__ import annotations

import os
import re
import signal
import time

import pytest

from core.config import RunConfig
from core.runs.store import RunStore, pid_alive
from tests.browser.server import (
    TEST_BUDGET_S,
    Budget,
    chart_lines,
    dashboard_server,
    launch_chromium,
    new_page,
    screenshot,
)
from tests.conftest import TINY

pytestmark = pytest.mark.browser

EPOCHS = 4


@pytest.fixture
def server(tmp_path):
    """(base url, runs folder) of a dashboard server with its own runs folder and data root."""
    with dashboard_server(tmp_path, data_root=tmp_path / "data") as running:
        yield running


def finished_run(store: RunStore, name: str, learning_rate: float, gain: float) -> str:
    """A succeeded run with per-epoch metrics, as a worker would have left it."""
    config = RunConfig.from_dict(
        {**TINY, "epochs": EPOCHS, "name": name, "learning_rate": learning_rate}
    ).to_dict()
    run_id = store.create_run(config, name)
    (store.path.parent / run_id).mkdir()
    for epoch in range(EPOCHS):
        store.add_epoch_metrics(
            run_id,
            epoch,
            {
                "loss": 2.3 / (1 + gain * epoch),
                "accuracy": 0.2 + gain * 0.15 * epoch,
                "val_loss": 2.4 / (1 + gain * epoch),
                "val_accuracy": 0.18 + gain * 0.14 * epoch,
            },
        )
    store.set_progress(run_id, EPOCHS, 0, 2)
    store.set_final_metrics(
        run_id, {"val_accuracy": 0.18 + gain * 0.14 * (EPOCHS - 1), "test_accuracy": 0.5 * gain}
    )
    store.set_status(run_id, "succeeded")
    return run_id


def click_row(table, row: int) -> None:
    """Tick a row of an st.dataframe (a canvas grid): its row-marker cell, left of the row."""
    box = table.bounding_box()
    header = row_height = 35  # Streamlit's default header and row heights, in CSS pixels
    table.page.mouse.click(box["x"] + 16, box["y"] + header + row_height * row + row_height / 2)


def kill_worker(store: RunStore, run_id: str) -> None:
    """End the run's worker process (it may still be importing TensorFlow)."""
    run = store.get_run(run_id)
    if run is None or not run.pid or not pid_alive(run.pid):
        return
    try:
        os.kill(run.pid, signal.SIGKILL)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + 10
    while pid_alive(run.pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not pid_alive(run.pid), f"worker {run.pid} of {run_id} is still alive"


def test_clone_and_tweak_from_compare(server):
    from playwright.sync_api import expect, sync_playwright

    url, runs = server
    store = RunStore(runs / "runs.sqlite")
    a = finished_run(store, "alpha", 0.1, gain=1.0)
    b = finished_run(store, "beta", 0.01, gain=1.6)
    c = finished_run(store, "gamma", 0.001, gain=0.5)
    before = {a, b, c}
    budget = Budget(TEST_BUDGET_S)
    with sync_playwright() as pw:
        browser = launch_chromium(pw, budget)
        try:
            page = new_page(browser)

            # ---- the comparison: curves of both runs -------------------------------------------
            page.goto(f"{url}/compare?runs={a},{b}", timeout=budget.ms(20))
            expect(page.get_by_text("Comparing:")).to_be_visible(timeout=budget.ms(30))
            chart = page.get_by_test_id("stPlotlyChart").first
            for label in ("alpha · train", "alpha · val", "beta · train", "beta · val"):
                expect(chart).to_contain_text(label, timeout=budget.ms(15))  # the legend
            deadline = time.monotonic() + min(15, budget.left())
            while not (lines := chart_lines(page)) or not all(lines):
                assert time.monotonic() < deadline, f"the curves were not drawn: {lines}"
                page.wait_for_timeout(200)
            assert chart.locator(".scatterlayer .trace").count() == 4
            table = page.get_by_test_id("stDataFrame").first
            expect(table.locator("table").first).to_contain_text(a, timeout=budget.ms(10))
            screenshot(page, "compare.png", show=chart)
            budget.mark("curves drawn")

            # ---- the shared link's runs are ticked: ticking gamma adds it ----------------------
            click_row(table, 0)  # gamma, the newest run
            page.wait_for_url(re.compile(rf"runs={a}(%2C|,){b}(%2C|,){c}$"), timeout=budget.ms(20))
            expect(page.get_by_text("Comparing:").locator("..")).to_contain_text(
                "gamma", timeout=budget.ms(20)
            )
            expect(chart).to_contain_text("alpha · train", timeout=budget.ms(15))
            budget.mark("third run added")

            # ---- Manage: Clone & tweak run a ---------------------------------------------------
            page.get_by_role("tab", name="Manage").click()
            manage = page.get_by_test_id("stExpander").filter(has_text="alpha · succeeded")
            manage.locator("summary").click()
            # a button + st.switch_page (an st.page_link click was sometimes lost on a fresh
            # server): one click must be enough
            manage.get_by_role("button", name=re.compile("Clone & tweak")).click()
            cloned = page.get_by_text(f"Settings cloned from run {a}")
            expect(cloned).to_be_visible(timeout=budget.ms(30))
            page.wait_for_url(re.compile(rf"/train\?clone={a}$"), timeout=budget.ms(10))
            budget.mark("clone opened")

            # ---- the form holds run a's settings; change the learning rate and train ------------
            form = page.get_by_test_id("stForm")
            rate = form.get_by_label("Learning rate", exact=True)
            expect(rate).to_have_value(re.compile(r"^1\.00e-0?1$"))  # sprintf in the browser
            name = form.get_by_label("Run name (optional)", exact=True)
            expect(name).to_have_value("alpha (tweak)")
            expect(form.get_by_label("Epochs", exact=True)).to_have_value(str(EPOCHS))
            expect(form.get_by_label("Training examples (0 = all)", exact=True)).to_have_value(
                str(TINY["max_train_examples"])
            )
            rate.fill("0.05")
            rate.press("Tab")
            form.get_by_test_id("stBaseButton-primaryFormSubmit").click()
            page.wait_for_url(
                re.compile(r"/train\?run=[0-9]{8}-[0-9]{6}-[0-9a-f]{6}$"), timeout=budget.ms(20)
            )
            new_id = re.search(r"[?&]run=([^&#]+)", page.url).group(1)
            budget.mark("run started")
            try:
                assert new_id not in before
                assert {r.id for r in store.list_runs()} == before | {new_id}
                new, source = store.get_run(new_id), store.get_run(a)
                assert new.name == "alpha (tweak)"
                assert new.config["learning_rate"] == pytest.approx(0.05)
                assert new.status in ("queued", "running")
                unchanged = {
                    k: v for k, v in source.config.items() if k not in ("name", "learning_rate")
                }
                assert {k: new.config[k] for k in unchanged} == unchanged
                assert set(new.config) == set(source.config)
                heading = page.get_by_test_id("stHeading").filter(has_text="alpha (tweak)")
                expect(heading.first).to_be_visible(timeout=budget.ms(20))  # the new run's panel
            finally:
                kill_worker(store, new_id)
            budget.mark("worker killed")

            # ---- Home: a row of the runs table opens that run ----------------------------------
            page.goto(url, timeout=budget.ms(20))
            home_table = page.get_by_test_id("stDataFrame").first
            expect(home_table.locator("table").first).to_contain_text(c, timeout=budget.ms(20))
            row = [r.id for r in store.list_runs(limit=10)].index(c)
            click_row(home_table, row)
            page.wait_for_url(re.compile(rf"/train\?run={c}$"), timeout=budget.ms(20))
            heading = page.get_by_test_id("stHeading").filter(has_text="gamma")
            expect(heading.first).to_be_visible(timeout=budget.ms(20))
            budget.mark("home row opened")
        finally:
            browser.close()
    assert budget.left() > 0
