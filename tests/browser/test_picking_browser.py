"""End to end: Predict with a phase-picking run, in Chromium against a real dashboard server.

A finished tiny picking run (an untrained tiny PhaseNet, as tests/core/seismic/picking_helpers
saves it; no training) is written straight into the server's runs folder. The test opens
/predict?run=<id>, keeps the built-in synthetic continuous record (1 minute), lowers both
thresholds to their minimum, presses Pick and checks the plot, a P or S row in the pick table
and the CSV download button. Screenshot: docs/screenshots/predict_picking.png. Every wait is
bounded by one budget (TEST_BUDGET_S, TFLAB_BROWSER_BUDGET_S).
"""

from __future__ import annotations

import time

import pytest

from core.runs.store import RunStore
from tests.browser.server import (
    TEST_BUDGET_S,
    Budget,
    chart_lines,
    dashboard_server,
    launch_chromium,
    new_page,
    screenshot,
)
from tests.core.seismic.picking_helpers import save_tiny_run

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):
    """(base url, runs folder) of a dashboard server with its own runs folder and data root."""
    with dashboard_server(tmp_path, data_root=tmp_path / "data") as running:
        yield running


def finished_picking_run(runs) -> str:
    """A succeeded run whose folder holds a tiny PhaseNet and a model.json with task picking."""
    store = RunStore(runs / "runs.sqlite")
    run_id = store.create_run({"dataset": "synthetic", "model": "phasenet", "epochs": 1})
    store.set_status(run_id, "succeeded")
    save_tiny_run(runs, run_id, window=400)
    return run_id


def test_pick_the_synthetic_record(server):
    from playwright.sync_api import expect, sync_playwright

    url, runs = server
    run_id = finished_picking_run(runs)
    budget = Budget(TEST_BUDGET_S)
    with sync_playwright() as pw:
        browser = launch_chromium(pw, budget)
        try:
            page = new_page(browser)

            # ---- the picking view of the run, with the synthetic record ------------------------
            page.goto(f"{url}/predict?run={run_id}", timeout=budget.ms(20))
            expect(page.get_by_text("Phase picker")).to_be_visible(timeout=budget.ms(40))
            expect(page.get_by_role("radio", name="Synthetic", exact=False)).to_be_checked(
                timeout=budget.ms(10)
            )
            minutes = page.get_by_label("Minutes", exact=True)
            minutes.fill("1")
            minutes.press("Enter")
            expect(minutes).to_have_value("1", timeout=budget.ms(10))
            page.wait_for_timeout(500)  # the rerun with one minute settles
            for label in ("P threshold", "S threshold"):
                thumb = page.get_by_role("slider", name=label)
                thumb.focus()
                thumb.press("Home")
                expect(thumb).to_have_value("0.05", timeout=budget.ms(10))
            budget.mark("options set")

            # ---- pick ----------------------------------------------------------------------------
            page.get_by_test_id("stBaseButton-primary").filter(has_text="Pick").click()
            expect(page.get_by_text("windows in")).to_be_visible(timeout=budget.ms(60))
            chart = page.get_by_test_id("stPlotlyChart").first
            expect(chart).to_be_visible(timeout=budget.ms(15))
            deadline = time.monotonic() + min(15, budget.left())
            while not (lines := chart_lines(page)) or not all(lines):
                assert time.monotonic() < deadline, f"the plot was not drawn: {lines}"
                page.wait_for_timeout(200)
            budget.mark("plot drawn")

            table = page.get_by_test_id("stDataFrame").first
            expect(table).to_be_visible(timeout=budget.ms(15))
            phases = (
                table.locator("table td")
                .filter(has_text="P")
                .or_(table.locator("table td").filter(has_text="S"))
            )
            expect(phases.first).to_be_attached(timeout=budget.ms(15))
            cells = [c.strip() for c in table.locator("table td").all_inner_texts()]
            assert "P" in cells or "S" in cells, cells[:20]
            csv = page.get_by_test_id("stDownloadButton").filter(has_text="Picks as CSV")
            expect(csv).to_be_visible(timeout=budget.ms(10))
            screenshot(page, "predict_picking.png", show=csv)
            budget.mark("table and downloads checked")
        finally:
            browser.close()
    assert budget.left() > 0
