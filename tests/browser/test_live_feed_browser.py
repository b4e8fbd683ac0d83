"""The live feed (dashboard/live_push.py, dashboard/live_feed.py, dashboard/live_chart.py) in
Chromium, one server (`streamlit run dashboard/serve.py`) and one live digits run for every check:

- pushed, not polled: the loss chart's newest step (data-last-step) moves on at least 3 times in
  a 7.5 s stretch in which the page gets (almost) no frame on Streamlit's websocket
  (/_stcore/stream), while the feed's websocket (ws .../tflab-api/live/<token>) delivers >= 3
  frames and the page sends no HTTP request to /tflab-api/live/ (a quiet page gets no keep-alive
  frames; a rerun is a burst of Streamlit frames: ~6 for the recent-runs table, ~15-80 for the
  run panel, each every 30 s while the run is live);
- the feed socket's URL (its token) answers over HTTP too: the payload's keys, and
  {"same": true} for the tag it just gave;
- all four batch charts of digits (loss, accuracy, learning rate, grad norm) are drawn on
  canvases, two a row, under a progress line whose fill is the fraction done;
- a hidden tab closes its feed socket (a close event), gets no feed frame, opens no socket,
  polls nothing, and its chart stays still while the run trains; shown again it opens a new
  feed socket and follows the run;
- the fallback: a second page whose sockets to /tflab-api/live/ are closed (code 1011) before
  any message (Playwright's route_web_socket: like a proxy without WebSockets) polls the HTTP
  route instead (>= 4 requests in 4 s) and its chart moves on;
- Stop: the run ends "stopped", the last feed frame says the run ended, the page shows Plotly
  charts and no live chart, every feed socket is closed and no feed frame or poll follows;
- an unknown token gets 404 with a JSON error over HTTP.

A screenshot of the live panel goes to SCREENSHOTS/train-live-feed.png.
"""

from __future__ import annotations

import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from core.config import RunConfig
from core.runs import launcher
from tests.browser.live_view import FEED, FeedWatch, live_charts, live_loss_step
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
QUIET_S = 7.5  # the stretch in which the chart must move without Streamlit websocket traffic
FALLBACK_S = 4.0  # how long the page without feed sockets is watched polling
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


def bursts(times: list[float], origin: float) -> list[tuple[float, int]]:
    """Frame times as bursts: (seconds after origin of its first frame, frames), a burst being
    frames less than 0.5 s apart."""
    out: list[list] = []
    for t in times:
        if out and t - out[-1][2] < 0.5:
            out[-1][1] += 1
        else:
            out.append([round(t - origin, 2), 1, t])
        out[-1][2] = t
    return [(start, count) for start, count, _ in out]


def steps_between(page, start: float, end: float) -> list[int]:
    """The loss chart's data-last-step values first seen between start and end (RECORD_STEPS_JS)."""
    return [s for t, s in page.evaluate("() => window.__liveSteps") if start <= t <= end]


def quiet_stretch(page, watch: FeedWatch, budget: Budget) -> dict:
    """Watch QUIET_S seconds, starting 0.3 s after the last burst of Streamlit websocket frames
    (after the next one when a 30 s rerun is due within the stretch), until the chart moved
    >= 3 times in one with <= 2 such frames (or SEARCH_S ran out; the recent-runs table's and
    the panel's 30 s reruns are not in step, one may fall in a stretch): the counts of the last
    stretch watched and of every stretch tried."""
    frames = watch.frames
    deadline = time.monotonic() + min(SEARCH_S, budget.left() - 60)
    tried = []
    while True:
        before = len(frames)
        for _ in range(120 if time.time() - frames[-1] > 30 - QUIET_S - 5 else 0):
            if len(frames) > before:  # the next burst, 12 s at most
                break
            page.wait_for_timeout(100)
        while time.time() - frames[-1] < 0.3:
            page.wait_for_timeout(50)
        start = time.time()
        page.wait_for_timeout(QUIET_S * 1000)
        end = time.time()
        steps = steps_between(page, start, end)
        tried.append(
            {
                "updates": len(steps),
                "frames": sum(start <= t <= end for t in frames),
                "bursts": bursts([t for t in frames if start - 12 <= t <= end], start),
                "pushes": watch.pushes(start, end),
                "polls": len(watch.polled(start, end)),
                "steps": steps,
            }
        )
        quiet = tried[-1]["updates"] >= 3 and tried[-1]["frames"] <= 2
        if quiet or time.monotonic() > deadline:
            break
    return {"last": tried[-1], "tried": tried}


def check_hidden_then_shown(page, watch: FeedWatch, store, run_id: str) -> None:
    """A hidden tab hangs up its feed socket and asks nothing; shown again it listens anew."""
    set_tab_hidden(page, True)
    hidden_at = time.time()
    page.wait_for_timeout(500)
    for _ in range(40):  # the page's one rerun when the tab hides (tab_visibility): done
        if time.time() - watch.frames[-1] > 1.0:
            break
        page.wait_for_timeout(100)
    frozen, then = live_loss_step(page), store.get_run(run_id)
    page.wait_for_timeout(2500)
    hidden_end = time.time()
    assert watch.sockets, "the page never opened a feed socket"
    assert watch.open_sockets() == [], f"a hidden tab kept its feed socket: {watch.summary()}"
    late = watch.pushes(hidden_at + 0.5, hidden_end)
    assert late == 0, f"a hidden tab got {late} feed frames"
    opened = [round(s["opened"] - hidden_at, 2) for s in watch.opened_since(hidden_at)]
    assert opened == [], f"a hidden tab opened feed sockets {opened} s after hiding"
    asked = [round(t - hidden_at, 2) for t in watch.polled(hidden_at)]
    assert asked == [], f"a hidden tab asked the feed over HTTP {asked} s after hiding"
    assert live_loss_step(page) == frozen, "the hidden tab's chart moved"
    now = store.get_run(run_id)
    assert (now.epoch, now.step) != (then.epoch, then.step), "the run must keep training"

    set_tab_hidden(page, False)
    shown_at = time.time()
    for _ in range(50):  # 10 s
        heard = [s for s in watch.opened_since(shown_at) if s["frames"]]
        if live_loss_step(page) not in ("", frozen) and heard:
            break
        page.wait_for_timeout(200)
    assert live_loss_step(page) not in ("", frozen), "the shown tab did not follow the run"
    assert heard, f"the shown tab opened no feed socket that pushed: {watch.summary()}"
    assert watch.polled(shown_at) == [], "the shown tab polls instead of listening"


def check_fallback(browser, url: str, run_id: str, budget: Budget) -> None:
    """A page whose feed sockets close before any message (as behind a proxy without
    WebSockets) polls the feed's HTTP route instead, and its chart follows the run."""
    from playwright.sync_api import expect

    page = new_page(browser)
    refused: list[str] = []

    def refuse(ws) -> None:  # the socket "opens", then the "server" closes it: no message
        refused.append(ws.url)
        ws.close(code=1011, reason="no WebSockets here")

    page.route_web_socket(re.compile(re.escape(FEED)), refuse)
    watch = FeedWatch(page)
    page.goto(f"{url}/train?run={run_id}", timeout=budget.ms(20))
    expect(page.locator(CHART)).to_have_count(4, timeout=budget.ms(60))
    page.evaluate(RECORD_STEPS_JS)
    for _ in range(50):  # the first poll comes feed.ms after the socket closed
        if watch.polls:
            break
        page.wait_for_timeout(100)
    start = time.time()
    page.wait_for_timeout(FALLBACK_S * 1000)
    end = time.time()
    steps, polls = steps_between(page, start, end), watch.polled(start, end)
    page.close()
    print(f"fallback: {len(refused)} sockets refused, {len(polls)} polls, steps {steps}")
    assert refused, "the page never tried a feed socket"
    assert len(polls) >= 4, f"the page without feed sockets polled {len(polls)} times in 4 s"
    assert len(steps) >= 2 and steps == sorted(steps), f"the polled chart did not move: {steps}"


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
        watch = FeedWatch(page)
        page.goto(f"{url}/train?run={run_id}", timeout=budget.ms(20))
        expect(page.locator(CHART)).to_have_count(4, timeout=budget.ms(90))
        page.evaluate(RECORD_STEPS_JS)
        budget.mark("live charts drawn")

        # ---- the loss chart moves on pushes while Streamlit sends (almost) nothing ------------
        quiet = quiet_stretch(page, watch, budget)
        last = quiet["last"]
        assert last["updates"] >= 3 and last["frames"] <= 2, quiet["tried"]
        assert last["pushes"] >= 3, quiet["tried"]  # the feed socket brought the moves
        assert last["polls"] == 0, quiet["tried"]  # pushed, not polled
        assert last["steps"] == sorted(last["steps"]), quiet["tried"]
        print(f"quiet stretches watched: {quiet['tried']}")
        now = time.time()
        print(
            f"Streamlit frame bursts (s from now, frames): {bursts(watch.frames, now)};"
            f" feed sockets: {watch.summary()}; HTTP polls so far: {len(watch.polls)}"
        )
        budget.mark("quiet stretch")

        # ---- the feed socket's URL (the page's token) answers over HTTP: payload, "same" -------
        assert watch.sockets, "the page opened no feed socket"
        base = url + urllib.parse.urlsplit(watch.sockets[-1]["url"]).path
        assert base.startswith(f"{url}{FEED}"), base
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

        # ---- a hidden tab hangs up and asks nothing; shown again it follows the run -----------
        check_hidden_then_shown(page, watch, store, run_id)
        budget.mark("hidden and shown")

        # ---- no WebSockets to the feed: the page polls it over HTTP instead --------------------
        check_fallback(browser, url, run_id, budget)
        budget.mark("fallback")

        # ---- Stop: Plotly charts, no live chart, no feed socket left ---------------------------
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
        kinds = [kind for _, kind in sorted(f for s in watch.sockets for f in s["frames"])]
        assert "ended" in kinds, f"no feed frame said the run ended: {kinds[-5:]}"
        after = kinds[kinds.index("ended") :]  # then at most a late socket's "same"
        assert "live" not in after, f"the feed pushed a live payload after the end: {after}"
        assert watch.open_sockets() == [], f"feed sockets left open: {watch.open_sockets()}"
        assert watch.pushes(ended_at) == 0, "the feed still pushes to a finished run's page"
        assert watch.polled(ended_at) == [], "the page polls a finished run"
        browser.close()
