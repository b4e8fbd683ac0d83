"""The light live loss chart (dashboard/live_chart.py) in Chromium: it appears on a live run,
is drawn on a canvas the width of its grid cell (the live charts' grid fills the panel's column;
two charts a row in the live feed), its newest step moves on while the run trains, the Stop
button stops the run at once, and once the run ended the page shows Plotly charts again.

A screenshot of the live run goes to SCREENSHOTS/train-live.png.
"""

from __future__ import annotations

import pytest

from core.config import RunConfig
from core.runs import launcher
from tests.browser.server import (
    TEST_BUDGET_S,
    Budget,
    dashboard_server,
    launch_chromium,
    new_page,
    screenshot,
)
from tests.conftest import TINY

pytestmark = pytest.mark.browser

LONG = TINY | {"epochs": 100, "batch_size": 8, "max_train_examples": 400}  # stopped long before
CHART = ".tflab-live-chart"
# the shown chart's newest step, its canvas' size against the chart's and its grid cell's (the
# grid's columns share its width less the gaps), the grid's width against the Streamlit
# column's, and how many of its pixels are painted (a blank canvas has none)
READ_JS = """() => {
  const root = [...document.querySelectorAll(".tflab-live-chart")]
    .find(e => e.getBoundingClientRect().height > 0);
  if (!root) return null;
  const c = root.querySelector("canvas"), ctx = c.getContext("2d");
  const px = ctx.getImageData(0, 0, c.width, c.height).data;
  let painted = 0;
  for (let i = 3; i < px.length; i += 4) if (px[i] > 0) painted++;
  const grid = root.parentElement, style = getComputedStyle(grid);
  const columns = style.gridTemplateColumns.split(" ").filter(Boolean).length;
  const cell = (grid.clientWidth - (parseFloat(style.columnGap) || 0) * (columns - 1)) / columns;
  return {step: Number(root.dataset.lastStep), width: root.clientWidth,
          canvas: c.width / (window.devicePixelRatio || 1), painted, cell,
          grid: grid.clientWidth,
          column: root.closest('[data-testid="stColumn"]').clientWidth};
}"""


def test_live_chart_follows_the_run_and_gives_way_to_plotly(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    budget = Budget(TEST_BUDGET_S)
    with dashboard_server(tmp_path) as (url, runs), sync_playwright() as pw:
        store = launcher.open_store(runs)
        run_id = launcher.launch(RunConfig(**LONG), runs)
        browser = launch_chromium(pw, budget)
        page = new_page(browser)
        page.goto(f"{url}/train?run={run_id}", timeout=budget.ms(20))
        page.locator(CHART).first.wait_for(timeout=budget.ms(90))
        budget.mark("live chart drawn")

        steps = []
        for _ in range(int(min(30, budget.left() - 40) / 0.25)):
            seen = page.evaluate(READ_JS)
            if seen and (not steps or seen["step"] != steps[-1]):
                steps.append(seen["step"])
            if len(steps) >= 4:
                break
            page.wait_for_timeout(250)
        assert len(steps) >= 4 and steps == sorted(steps), f"the chart's step moved: {steps}"
        seen = page.evaluate(READ_JS)
        assert seen["canvas"] == seen["width"] > 0.9 * seen["cell"], seen  # its cell's width
        assert seen["grid"] > 0.9 * seen["column"], seen  # the charts fill the panel's column
        assert seen["painted"] > 5000, seen  # axes, labels, legend and lines are drawn
        screenshot(page, "train-live.png")
        budget.mark("chart moved")

        page.get_by_role("button", name="Stop").click()
        for _ in range(20):  # the click reruns the panel and stops the run at once
            if store.stop_requested(run_id):
                break
            page.wait_for_timeout(250)
        assert store.stop_requested(run_id), "Stop did not reach the store within 5 s"
        expect(page.locator(CHART)).to_have_count(0, timeout=budget.ms(60))
        loss = page.get_by_test_id("stPlotlyChart").first
        expect(loss.locator(".gtitle")).to_have_text("loss", timeout=budget.ms(20))
        assert store.get_run(run_id).status == "stopped"
        browser.close()
