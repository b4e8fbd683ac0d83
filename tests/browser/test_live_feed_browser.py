"""The live feed (dashboard/live_feed.py, dashboard/live_chart.py) in Chromium, one server
(`streamlit run dashboard/serve.py`) and one live digits run for every check:

- the loss chart's newest step (data-last-step) moves on at least 3 times in an 8 s stretch in
  which the page gets (almost) no Streamlit websocket frame, while the page asks
  /tflab-api/live/ (a quiet page gets no keep-alive frames; a rerun is a burst of frames: ~6
  for the recent-runs table every 10 s, ~15-80 for the run panel every 30 s);
- the feed's URL answers the payload's keys, and {"same": true} for the tag it just gave;
- all four batch charts of digits (loss, accuracy, learning rate, grad norm) are drawn on
  canvases, two a row, under a progress line whose fill is the fraction done;
- a hidden tab asks the feed nothing and its chart stays still while the run trains; shown again
  it polls and follows the run;
- Stop: the run ends "stopped", the page shows Plotly charts and no live chart, and stops polling;
- an unknown token gets 404 with a JSON error.

A screenshot of the live panel goes to SCREENSHOTS/train-live-feed.png.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.request

import pytest

from core.config import RunConfig
from core.runs import launcher
from tests.browser.live_view import live_charts, live_loss_step
from tests.browser.server import (
    TEST_BUDGET_S,
    Budget,
    dashboard_server,
    launch_chromium,
    new_page,
    screenshot,
    set_tab_hidden,
)
from tests.conftest import TINY

pytestmark = pytest.mark.browser

# stopped by the test long before it ends (a quiet CI machine trains ~100 steps a second)
LONG = TINY | {"epochs": 2000, "batch_size": 8, "max_train_examples": 400}
CHART = ".tflab-live-chart"
FEED = "/tflab-api/live/"
QUIET_S = 7.5  # the stretch in which the chart must move without websocket traffic
SEARCH_S = 35.0  # how long to look for such a stretch (a 30 s panel rerun may fall in one)
STEP = re.compile(r"epoch (\d+)/(\d+) · step (\d+)/(\d+)")
TITLES = ["loss", "accuracy", "learning rate", "grad norm"]
# [seconds since the epoch, step] each time the shown loss chart's data-last-step changed
RECORD_STEPS_JS = """() => {
  window.__liveSteps = [];
  setInterval(() => {
    const e = [...document.querySelectorAll(".tflab-live-chart")]
      .find(c => c.getBoundingClientRect().height > 0);
    if (!e || e.dataset.lastStep === "") return;
    const step = Number(e.dataset.lastStep), seen = window.__liveSteps;
    if (!seen.length || seen[seen.length - 1][1] !== step) seen.push([Date.now() / 1000, step]);
  }, 100);
}"""


# the feed's progress line: its track's and fill's widths (px) and its text, read at once
PROGRESS_JS = """() => {
  const bar = document.querySelector(".tflab-live-progress:not([hidden])");
  if (!bar) return null;
  const track = bar.querySelector(":scope > div"), fill = track.firstElementChild;
  return {bar: bar.clientWidth, track: track.getBoundingClientRect().width,
          fill: fill.getBoundingClientRect().width, text: bar.querySelector("p").textContent};
}"""


def get_json(url: str) -> tuple[int, dict]:
    """(HTTP status, JSON body) of a GET, error statuses included."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def quiet_stretch(page, frames: list[float], feed: list[float], budget: Budget) -> dict:
    """Watch QUIET_S seconds, starting 0.3 s after a burst of websocket frames ended (the recent
    runs table's rerun, every 10 s), until the chart moved >= 3 times in one with <= 2 frames
    (or SEARCH_S ran out; the panel's 30 s rerun may fall in one): the counts of the last
    stretch watched and of every stretch tried."""
    deadline = time.monotonic() + min(SEARCH_S, budget.left() - 30)
    tried = []
    while True:
        before = len(frames)
        for _ in range(120):  # the next burst, 12 s at most
            if len(frames) > before:
                break
            page.wait_for_timeout(100)
        while time.time() - frames[-1] < 0.3:
            page.wait_for_timeout(50)
        start = time.time()
        page.wait_for_timeout(QUIET_S * 1000)
        end = time.time()
        steps = [s for t, s in page.evaluate("() => window.__liveSteps") if start <= t <= end]
        tried.append(
            {
                "updates": len(steps),
                "frames": sum(start <= t <= end for t in frames),
                "frame times": [round(t - start, 2) for t in frames if start - 12 <= t <= end],
                "feed requests": sum(start <= t <= end for t in feed),
                "steps": steps,
            }
        )
        quiet = tried[-1]["updates"] >= 3 and tried[-1]["frames"] <= 2
        if quiet or time.monotonic() > deadline:
            break
    return {"last": tried[-1], "tried": tried}


def test_live_feed_moves_charts_without_reruns(tmp_path):
    from playwright.sync_api import expect, sync_playwright

    budget = Budget(TEST_BUDGET_S)
    with dashboard_server(tmp_path) as (url, runs), sync_playwright() as pw:
        status, body = get_json(f"{url}{FEED}not-a-token")
        assert status == 404 and "unknown" in body["error"], (status, body)

        store = launcher.open_store(runs)
        run_id = launcher.launch(RunConfig(**LONG), runs)
        browser = launch_chromium(pw, budget)
        page = new_page(browser)
        frames: list[float] = []  # when a Streamlit websocket frame arrived (time.time())
        feed: list[float] = []  # when the page asked the live feed
        feed_urls: list[str] = []
        page.on(
            "websocket", lambda ws: ws.on("framereceived", lambda _: frames.append(time.time()))
        )

        def on_request(request) -> None:
            if FEED in request.url:
                feed.append(time.time())
                feed_urls.append(request.url)

        page.on("request", on_request)
        page.goto(f"{url}/train?run={run_id}", timeout=budget.ms(20))
        expect(page.locator(CHART)).to_have_count(4, timeout=budget.ms(90))
        page.evaluate(RECORD_STEPS_JS)
        budget.mark("live charts drawn")

        # ---- the loss chart moves while Streamlit sends (almost) nothing ----------------------
        quiet = quiet_stretch(page, frames, feed, budget)
        last = quiet["last"]
        assert last["updates"] >= 3 and last["frames"] <= 2, quiet["tried"]
        assert last["feed requests"] >= 6, quiet["tried"]  # one every 500 ms while shown
        assert last["steps"] == sorted(last["steps"]), quiet["tried"]
        print(f"quiet stretches watched: {quiet['tried']}")
        budget.mark("quiet stretch")

        # ---- the feed's URL (the page's token) answers the payload, then "same" ----------------
        base = url + feed_urls[-1][len(url) :].split("?")[0]
        for _ in range(10):  # the run moves on between two asks now and then
            status, payload = get_json(f"{base}?v=")
            assert status == 200, (status, payload)
            assert {"tag", "status", "active", "panel", "progress", "charts"} <= set(payload)
            assert payload["active"] and payload["status"] == "running", payload["status"]
            assert [c["title"] for c in payload["charts"]] == TITLES, payload["charts"]
            if get_json(f"{base}?v={payload['tag']}") == (200, {"same": True}):
                break
        else:
            raise AssertionError("the feed never answered {'same': true} for its current tag")

        # ---- all four batch charts, on canvases, two a row ------------------------------------
        charts = live_charts(page)
        assert [c["title"] for c in charts] == TITLES, charts
        assert all(c["canvas"] == c["width"] > 0.9 * c["cell"] for c in charts), charts
        loss, accuracy, rate, grad = charts
        assert loss["top"] == accuracy["top"] < rate["top"] == grad["top"], charts
        assert loss["left"] == rate["left"] < accuracy["left"] == grad["left"], charts
        bar = page.evaluate(PROGRESS_JS)  # the track spans the panel, the fill is the fraction
        epoch, epochs, step, steps = map(int, STEP.search(bar["text"]).groups())
        done = ((epoch - 1) * steps + step) / (epochs * steps)
        assert bar["track"] > 0.95 * bar["bar"] > 0, bar
        assert abs(bar["fill"] / bar["track"] - done) < 0.03, (bar, done)
        screenshot(page, "train-live-feed.png", show=page.locator(".tflab-live-grid"))

        # ---- a hidden tab asks the feed nothing; shown again it follows the run ---------------
        set_tab_hidden(page, True)
        hidden_at = time.time()
        page.wait_for_timeout(500)
        for _ in range(40):  # the page's one rerun when the tab hides (tab_visibility): done
            if time.time() - frames[-1] > 1.0:
                break
            page.wait_for_timeout(100)
        frozen, then = live_loss_step(page), store.get_run(run_id)
        page.wait_for_timeout(2500)
        asked = [round(t - hidden_at, 2) for t in feed if t > hidden_at + 0.3]
        assert asked == [], f"a hidden tab asked the feed {asked} s after hiding"
        assert live_loss_step(page) == frozen, "the hidden tab's chart moved"
        now = store.get_run(run_id)
        assert (now.epoch, now.step) != (then.epoch, then.step), "the run must keep training"
        set_tab_hidden(page, False)
        shown_at = time.time()
        for _ in range(50):  # 10 s
            if live_loss_step(page) not in ("", frozen) and any(t >= shown_at for t in feed):
                break
            page.wait_for_timeout(200)
        assert live_loss_step(page) not in ("", frozen), "the shown tab did not follow the run"
        assert any(t >= shown_at for t in feed), "the shown tab does not ask the feed"
        budget.mark("hidden and shown")

        # ---- Stop: Plotly charts, no live chart, no more polling ------------------------------
        page.get_by_role("button", name="Stop").click()
        clicked = time.monotonic()
        for _ in range(20):
            if store.stop_requested(run_id):
                break
            page.wait_for_timeout(250)
        assert store.stop_requested(run_id), "Stop did not reach the store within 5 s"
        stopped_after = None  # when the store said "stopped", s after the click
        for _ in range(int(min(30, budget.left() - 5) / 0.2)):
            if stopped_after is None and store.get_run(run_id).status == "stopped":
                stopped_after = time.monotonic() - clicked
            if page.get_by_test_id("stPlotlyChart").count() == 4:
                break
            page.wait_for_timeout(200)
        plotly_after = time.monotonic() - clicked
        expect(page.get_by_test_id("stPlotlyChart")).to_have_count(4, timeout=budget.ms(5))
        expect(page.locator(CHART)).to_have_count(0, timeout=budget.ms(5))
        print(f"after the Stop click: run stopped {stopped_after} s, Plotly {plotly_after:.1f} s")
        assert store.get_run(run_id).status == "stopped"
        ended_at = time.time()
        page.wait_for_timeout(1500)
        assert not [t for t in feed if t > ended_at], "the page still polls a finished run"
        browser.close()
