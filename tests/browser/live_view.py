"""Readers of a live run panel in the browser tests, for both ways it is drawn: the live feed's
progress line and canvas charts (dashboard/live_chart.py, `streamlit run dashboard/serve.py`) or
Streamlit's progress bar and the 1 s fragment (`streamlit run dashboard/app.py`).

live_charts(page): one dict per live chart on screen, in page order: {title, step (the chart's
data-last-step, None when empty), width and canvas (CSS px), cell (its grid cell's width, px),
column (the Streamlit column's width, px), left, top (px)}.

FeedWatch(page): what the page's sockets and feed requests did (Streamlit's websocket frames,
each live feed socket's opening, frames and closing, HTTP polls of the feed), for the tests that
prove the feed is pushed (dashboard/live_push.py) and not polled, or polled as the fallback.
"""

from __future__ import annotations

import json
import math
import time

# The progress line: the feed's (hidden until it has a text) or Streamlit's progress bar
PROGRESS = '.tflab-live-progress:not([hidden]), [data-testid="stProgress"]'

# Streamlit keeps zero-height copies of elements around while a fragment reruns: skip those
LIVE_CHARTS_JS = """() => [...document.querySelectorAll(".tflab-live-chart")]
  .filter(e => e.getBoundingClientRect().height > 0)
  .map(e => {
    const grid = e.parentElement, style = getComputedStyle(grid);
    const columns = style.gridTemplateColumns.split(" ").filter(Boolean).length || 1;
    const gap = parseFloat(style.columnGap) || 0;
    const box = e.getBoundingClientRect(), c = e.querySelector("canvas");
    const label = e.getAttribute("aria-label") || "";
    const column = e.closest('[data-testid="stColumn"]');
    return {title: label.replace(/ chart, last step.*$/, ""),
            step: e.dataset.lastStep === "" ? null : Number(e.dataset.lastStep),
            width: e.clientWidth, canvas: c ? c.width / (window.devicePixelRatio || 1) : 0,
            cell: (grid.clientWidth - gap * (columns - 1)) / columns,
            column: column ? column.clientWidth : 0, left: box.left, top: box.top};
  })"""


def live_charts(page) -> list[dict]:
    """The live charts on screen (see the module docstring); [] while none is drawn."""
    try:
        return page.evaluate(LIVE_CHARTS_JS)
    except Exception:  # noqa: BLE001 - a navigation or rerun in the middle of the call
        return []


def live_loss_step(page) -> str:
    """The newest step on the live loss chart (the first one) as text, '' when none shown."""
    charts = live_charts(page)
    return "" if not charts or charts[0]["step"] is None else str(charts[0]["step"])


FEED = "/tflab-api/live/"  # the feed's path: its WebSocket and its HTTP route
STREAM = "/_stcore/stream"  # Streamlit's own websocket


def _kind(payload) -> str:
    """A feed frame: "same" ({"same": true}), "live" (a payload of a live run) or "ended"."""
    try:
        message = json.loads(payload)
    except (TypeError, ValueError):
        return "?"
    if message.get("same"):
        return "same"
    return "live" if message.get("active") else "ended"


class FeedWatch:
    """Listens to one page (attach before page.goto). Times are time.time() when Playwright
    delivered the event to the test (a little after the browser saw it).

    frames: when a frame of Streamlit's websocket arrived;
    sockets: one dict per feed socket the page opened, in order: {url, opened, closed (None
    while open), frames: [(time, "same" | "live" | "ended"), ...]};
    polls: when the page sent an HTTP request to the feed's route.
    """

    def __init__(self, page):
        self.frames: list[float] = []
        self.sockets: list[dict] = []
        self.polls: list[float] = []
        page.on("websocket", self._socket)
        page.on("request", self._request)

    def _socket(self, ws) -> None:
        if STREAM in ws.url:
            ws.on("framereceived", lambda _: self.frames.append(time.time()))
        elif FEED in ws.url:
            sock = {"url": ws.url, "opened": time.time(), "closed": None, "frames": []}
            self.sockets.append(sock)
            ws.on("framereceived", lambda p: sock["frames"].append((time.time(), _kind(p))))
            ws.on("close", lambda _: sock.update(closed=time.time()))

    def _request(self, request) -> None:
        if FEED in request.url and request.url.startswith("http"):
            self.polls.append(time.time())

    def pushes(self, start: float, end: float = math.inf) -> int:
        """Frames received on any feed socket between start and end."""
        return sum(start <= t <= end for s in self.sockets for t, _ in s["frames"])

    def polled(self, start: float, end: float = math.inf) -> list[float]:
        """The page's HTTP requests to the feed between start and end."""
        return [t for t in self.polls if start <= t <= end]

    def open_sockets(self) -> list[str]:
        """URLs of the feed sockets with no close event yet."""
        return [s["url"] for s in self.sockets if s["closed"] is None]

    def opened_since(self, start: float) -> list[dict]:
        """The feed sockets opened at or after start."""
        return [s for s in self.sockets if s["opened"] >= start]

    def summary(self) -> list[dict]:
        """The feed sockets for a failure message: url, opened, closed, how many frames."""
        return [{**s, "frames": len(s["frames"])} for s in self.sockets]
