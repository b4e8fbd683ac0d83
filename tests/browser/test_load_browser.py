"""Load, the CI version of bench/bench_load.py: ten headless Chromium tabs watch the live charts
of two digits runs for 30 s against a real dashboard server (bench/watch_harness.py).

Asserts no page exception or console error in any tab, that every tab saw its chart move, that
both runs kept training while watched, and a bound on the delay from a batch's end to its
point on screen (p95) that holds on a busy 2-core machine with the tabs, two TensorFlow workers
and the server sharing it; the 1.5 s target is measured by the bench (docs/benchmarks.md).
"""

from __future__ import annotations

import pytest

from bench import watch_harness as wh
from tests.browser.server import dashboard_server

pytestmark = pytest.mark.browser

WATCH_S = 30
P95_BOUND_S = 6.0  # honest on this shared 2-core machine; the bench's target is 1.5 s


def test_ten_tabs_watch_two_live_runs(tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    monkeypatch.setenv(wh.CPU_JOBS_ENV, "2")  # both runs train at once (the queue's CPU slots)

    wh.pin(wh.SERVER_CPUS)
    try:
        with dashboard_server(tmp_path, data_root=tmp_path / "data") as (url, runs):
            wh.pin(wh.BROWSER_CPUS)
            with sync_playwright() as pw:
                result = wh.run_load(pw, url, runs, WATCH_S, tabs=10, baseline_s=4)
    finally:
        wh.pin(wh.SERVER_CPUS | wh.BROWSER_CPUS)
    print(result)
    assert result["page_errors"] == []
    assert all(n >= 3 for n in result["shown_updates_per_tab"]), result["shown_updates_per_tab"]
    assert all(rate > 0 for rate in result["batches_s_watched"]), result
    assert result["delay_s"]["n"] >= 30
    assert result["delay_s"]["p95"] <= P95_BOUND_S, result["delay_s"]
