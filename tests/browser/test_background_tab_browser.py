"""A tab in the background stops following a live run, and picks it up again when shown: the
live feed's charts hang up their websocket to /tflab-api/live/ (dashboard/live_push.py) and do
not poll its HTTP route either, the page's fragments lose their timers.

Checked in Chromium on a live digits run (`streamlit run dashboard/serve.py`): shown, the
progress line moves and a feed socket delivers frames; hidden, the progress line stays still
for 4 s while the run trains, every feed socket is closed (a close event), no feed frame
arrives, no feed socket opens and no HTTP request goes to the feed; shown again, a new feed
socket opens and delivers frames, still with no HTTP poll, and the progress line moves on twice.

The page's visibility is switched the way a browser does it when the user changes tabs: the
document's visibilityState becomes "hidden" and a visibilitychange event fires.
"""

from __future__ import annotations

import re
import time

import pytest

from core.config import RunConfig
from core.runs import launcher
from tests.browser.live_view import PROGRESS, FeedWatch
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
        watch = FeedWatch(page)
        page.goto(f"{url}/train?run={run_id}", timeout=budget.ms(20))
        first = wait_for_change(page, budget, "", 60)
        wait_for_change(page, budget, first, 15)  # the shown tab follows the run
        assert [s for s in watch.sockets if s["frames"]], "no feed socket pushed to the tab"
        budget.mark("live in the shown tab")

        set_tab_hidden(page, True)
        hidden_at = time.time()
        page.wait_for_timeout(2000)  # the one rerun that drops the timers
        frozen = wait_for_change(page, budget, "", 15)
        then = store.get_run(run_id)
        seen = set()
        for _ in range(16):  # 4 s; "" is a read that timed out on a busy machine
            page.wait_for_timeout(250)
            seen.add(progress_text(page) or frozen)
        now = store.get_run(run_id)
        assert (now.epoch, now.step) != (then.epoch, then.step), "the run must keep training"
        assert seen == {frozen}, f"a hidden tab kept following the run: {seen}"
        hidden_end = time.time()
        assert watch.open_sockets() == [], f"the hidden tab kept a feed socket: {watch.summary()}"
        pushed = watch.pushes(hidden_at + 0.5, hidden_end)
        assert pushed == 0, f"the hidden tab got {pushed} feed frames"
        assert watch.opened_since(hidden_at) == [], "the hidden tab opened a feed socket"
        asked = [round(t - hidden_at, 2) for t in watch.polled(hidden_at)]
        assert asked == [], f"the hidden tab polled the feed {asked} s after hiding"
        budget.mark("hidden tab stayed still")

        set_tab_hidden(page, False)
        shown_at = time.time()
        shown = wait_for_change(page, budget, frozen, 10)
        wait_for_change(page, budget, shown, 10)  # and keeps following it
        heard = [s for s in watch.opened_since(shown_at) if s["frames"]]
        assert heard, f"the shown tab opened no feed socket that pushed: {watch.summary()}"
        assert watch.polled(shown_at) == [], "the shown tab polls instead of listening"
        browser.close()
        launcher.stop(run_id, runs)
