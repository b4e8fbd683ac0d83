"""End to end: the Evaluate page queues an evaluation job, a worker process runs it, and a
reload of the page (the job id is in the URL) draws the saved result.

A finished tiny digits classifier (tests/image_run_helpers) is written into the server's runs
folder. The test opens /evaluate?run=<id>, presses Evaluate (the page submits a job and puts
?job=<id> in the URL), reloads, and waits for the metrics, the confusion matrix and the images.
Screenshot: evaluate_job.png. Every wait is bounded by one budget.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
from pathlib import Path

import pytest

from core.runs.store import RunStore, pid_alive
from tests.browser.server import (
    TEST_BUDGET_S,
    Budget,
    dashboard_server,
    launch_chromium,
    new_page,
    screenshot,
)
from tests.image_run_helpers import save_image_run

pytestmark = pytest.mark.browser


@pytest.fixture
def server(tmp_path):
    """(base url, runs folder); the server and any job worker it left end with the test."""
    with dashboard_server(tmp_path) as running:
        yield running
        store = RunStore(running[1] / "runs.sqlite")
        for job in store.active_jobs():
            cmd = Path(f"/proc/{job.pid}/cmdline") if job.pid else None
            if cmd and pid_alive(job.pid) and job.id in cmd.read_bytes().decode():
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(job.pid, signal.SIGKILL)


def test_evaluate_as_a_job_and_reload(server):
    from playwright.sync_api import expect, sync_playwright

    url, runs = server
    run_id = save_image_run(runs, "classification")
    store = RunStore(runs / "runs.sqlite")
    budget = Budget(max(TEST_BUDGET_S, 240))
    with sync_playwright() as pw:
        browser = launch_chromium(pw, budget)
        try:
            page = new_page(browser)
            page.goto(f"{url}/evaluate?run={run_id}", timeout=budget.ms(20))
            button = page.get_by_test_id("stBaseButton-primary").filter(has_text="Evaluate")
            expect(button).to_be_visible(timeout=budget.ms(60))
            button.click()
            page.wait_for_url(re.compile(r"[?&]job=evaluate-"), timeout=budget.ms(30))
            job_id = re.search(r"[?&]job=([^&#]+)", page.url).group(1)
            budget.mark("job submitted")
            job = store.get_job(job_id)
            assert job is not None and job.kind == "evaluate" and job.pid != os.getpid()

            page.reload(timeout=budget.ms(20))  # the job keeps going; the URL finds it again
            expect(page.get_by_text(f"Job {job_id}")).to_be_visible(timeout=budget.ms(40))
            try:
                expect(page.get_by_text("Most confident mistakes")).to_be_visible(
                    timeout=budget.ms(180)
                )
            except AssertionError as err:
                raise AssertionError(f"{err}\njob: {store.job_outcome(job_id)}") from None
            expect(page.get_by_test_id("stMetric").first).to_be_visible(timeout=budget.ms(20))
            expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible(timeout=budget.ms(30))
            budget.mark("result shown after the reload")
            outcome = store.job_outcome(job_id)
            assert outcome["status"] == "succeeded", outcome["error"]
            assert (runs / "jobs" / job_id / "evaluation.json").is_file()
            screenshot(page, "evaluate_job.png", show=page.get_by_text("Most confident mistakes"))
            screenshot(page, "evaluate_job_top.png")
        finally:
            browser.close()
    assert budget.left() > 0
