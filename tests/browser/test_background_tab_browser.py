"""A tab in the background stops polling a live run, and picks it up again when shown (the live
feed's charts stop asking /tflab-api/live/, the page's fragments lose their timers).

The page's visibility is switched the way a browser does it when the user changes tabs: the
document's visibilityState becomes "hidden" and a visibilitychange event fires.
"""

from __future__ import annotations

import re

import pytest

from core.config import RunConfig
from core.runs import launcher
from tests.browser.live_view import PROGRESS
from tests.browser.server import (
    TEST_BUDGET_S,
    Budget,
    dashboard_server,
    launch_chromium,
    new_page,
    set_tab_hidden,
    text_of,
)
from tests.conftest import TINY

pytestmark = pytest.mark.browser

LONG = TINY | {"epochs": 100, "batch_size": 8, "max_train_examples": 400}  # stopped long before
STEP = re.compile(r"epoch (\d+)/\d+ · step (\d+)/(\d+)")


def progress_text(page) -> str:
    match = STEP.search(text_of(page.locator(PROGRESS)))  # the live feed's line or st.progress
    return match[0] if match else ""


def wait_for_change(page, budget: Budget, since: str, seconds: float) -> str:
    """The progress text once it differs from `since` (fails after `seconds`)."""
    for _ in range(int(seconds / 0.2)):
        now = progress_text(page)
        if now and now != since:
            return now
        page.wait_for_timeout(200)
    raise AssertionError(f"the progress stayed at {since!r} for {seconds} s")


def test_a_background_tab_stops_polling_and_resumes_when_shown(tmp_path):
    from playwright.sync_api import sync_playwright

    budget = Budget(TEST_BUDGET_S)
    with dashboard_server(tmp_path) as (url, runs), sync_playwright() as pw:
        store = launcher.open_store(runs)
        run_id = launcher.launch(RunConfig(**LONG), runs)
        browser = launch_chromium(pw, budget)
        page = new_page(browser)
        page.goto(f"{url}/train?run={run_id}", timeout=budget.ms(20))
        first = wait_for_change(page, budget, "", 60)
        wait_for_change(page, budget, first, 15)  # the shown tab follows the run
        budget.mark("live in the shown tab")

        set_tab_hidden(page, True)
        page.wait_for_timeout(2000)  # the one rerun that drops the timers
        frozen = wait_for_change(page, budget, "", 15)
        then = store.get_run(run_id)
        seen = set()
        for _ in range(16):  # 4 s; "" is a read that timed out on a busy machine
            page.wait_for_timeout(250)
            seen.add(progress_text(page) or frozen)
        now = store.get_run(run_id)
        assert (now.epoch, now.step) != (then.epoch, then.step), "the run must keep training"
        assert seen == {frozen}, f"a hidden tab kept polling the server: {seen}"
        budget.mark("hidden tab stayed still")

        set_tab_hidden(page, False)
        shown = wait_for_change(page, budget, frozen, 10)
        wait_for_change(page, budget, shown, 10)  # and keeps following it
        browser.close()
        launcher.stop(run_id, runs)
