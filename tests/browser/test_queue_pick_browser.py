"""End to end: a 6-hour record is picked by a queued job in a worker, and a reload finds it.

A finished tiny picking run (untrained tiny PhaseNet, tests/core/seismic/picking_helpers) is
written into the server's runs folder. The test opens /predict?run=<id>, sets the synthetic
record to 360 minutes, presses Pick (the page submits a job and puts ?job=<id> in the URL),
reloads the page, and waits for the result (the plot and "windows in"). The job ran in a
process of its own. Screenshot: predict_pick_job.png. Every wait is bounded by one budget.
"""

from __future__ import annotations

import re

import pytest

from core.runs.store import RunStore
from tests.browser.server import (
    TEST_BUDGET_S,
    Budget,
    dashboard_server,
    launch_chromium,
    new_page,
    screenshot,
)
from tests.core.seismic.picking_helpers import save_tiny_run

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):
    """(base url, runs folder) of a dashboard server; it and its workers end with the test."""
    with dashboard_server(tmp_path, data_root=tmp_path / "data") as running:
        yield running


def test_pick_a_six_hour_record_as_a_job_and_reload(server):
    from playwright.sync_api import expect, sync_playwright

    url, runs = server
    store = RunStore(runs / "runs.sqlite")
    run_id = store.create_run({"dataset": "synthetic", "model": "phasenet", "epochs": 1})
    store.set_status(run_id, "succeeded")
    save_tiny_run(runs, run_id, window=400)
    budget = Budget(max(TEST_BUDGET_S, 240))
    with sync_playwright() as pw:
        browser = launch_chromium(pw, budget)
        try:
            page = new_page(browser)
            page.goto(f"{url}/predict?run={run_id}", timeout=budget.ms(20))
            expect(page.get_by_text("Phase picker")).to_be_visible(timeout=budget.ms(40))
            minutes = page.get_by_label("Minutes", exact=True)
            minutes.fill("360")
            minutes.press("Enter")
            expect(page.get_by_text("picked by a background job")).to_be_visible(
                timeout=budget.ms(60)
            )
            page.get_by_test_id("stBaseButton-primary").filter(has_text="Pick").click()
            page.wait_for_url(re.compile(r"[?&]job=pick-"), timeout=budget.ms(30))
            job_id = re.search(r"[?&]job=([^&#]+)", page.url).group(1)
            budget.mark("job submitted")
            job = store.get_job(job_id)
            assert job is not None and job.kind == "pick"
            assert job.params["source"] == {"synthetic": {"minutes": 360, "seed": 0}}

            page.reload(timeout=budget.ms(20))  # the job keeps going; the URL finds it again
            expect(page.get_by_text(f"Job {job_id}")).to_be_visible(timeout=budget.ms(40))
            expect(page.get_by_text("windows in")).to_be_visible(timeout=budget.ms(200))
            # an untrained picker on 6 hours marks tens of thousands of samples at 0.3: raise
            # both thresholds to 1.0 (re-picking is instant) so the figure stays small
            for label in ("P threshold", "S threshold"):
                thumb = page.get_by_role("slider", name=label)
                thumb.focus()
                thumb.press("End")
                expect(thumb).to_have_value("1", timeout=budget.ms(30))
            expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=budget.ms(30))
            budget.mark("result shown after the reload")
            outcome = store.job_outcome(job_id)
            assert outcome["status"] == "succeeded" and outcome["result"]["windows"] > 10_000
            assert store.get_job(job_id).pid  # a worker process of its own ran it
            assert (runs / "jobs" / job_id / "worker.log").is_file()
            screenshot(page, "predict_pick_job.png", show=page.get_by_text("windows in"))
        finally:
            browser.close()
    assert budget.left() > 0
