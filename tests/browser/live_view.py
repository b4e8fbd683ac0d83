"""Readers of a live run panel in the browser tests, for both ways it is drawn: the live feed's
progress line and canvas charts (dashboard/live_chart.py, `streamlit run dashboard/serve.py`) or
Streamlit's progress bar and the 1 s fragment (`streamlit run dashboard/app.py`).

live_charts(page): one dict per live chart on screen, in page order: {title, step (the chart's
data-last-step, None when empty), width and canvas (CSS px), cell (its grid cell's width, px),
column (the Streamlit column's width, px), left, top (px)}.
"""

from __future__ import annotations

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
