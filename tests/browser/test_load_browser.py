"""Load, the CI version of bench/bench_load.py: three Chromium tabs watch one live training run.

One dashboard server, one digits worker (TensorFlow capped at one thread per pool and niced, so it
cannot starve the server on a 2-core machine), three tabs on /train?run=ID opened while the
worker is still starting. Once every tab has drawn the live loss chart (dashboard/live_chart.py,
its newest step read from its data-last-step) they watch for WATCH_S seconds;
then each tab must have seen the progress text and the chart's newest point move on (at least
MOVES new steps each), no tab may have had a page exception or console error, and "database is
locked" must appear nowhere: not on a page (each tab looks at its own text once a second, also
for "Traceback"), in the server log, in the worker log or in the run's events.

One budget caps the whole test (TFLAB_LOAD_BUDGET_S, default 180 s). No CPU pinning by default:
with the worker niced, the kernel gives the server and the tabs both cores when they need them,
which also holds on a machine busy with other work; TFLAB_BENCH_PIN=1 pins as
bench/watch_harness.py does (server and worker on CPU 0, Chromium on CPU 1), and this process's
own CPU set is restored at the end. The figures of the full benchmark (ten tabs, two runs,
three minutes) and of this test are in docs/benchmarks.md.
"""

from __future__ import annotations

import contextlib
import os
import time

import pytest

from bench import watch_harness as wh
from core.config import RunConfig
from core.runs import launcher
from core.runs.store import RunStore
from tests.browser.server import Budget, dashboard_server
from tests.conftest import TINY

pytestmark = pytest.mark.browser

TABS = 3
WATCH_S = 15.0
MOVES = 3  # new steps each tab must have shown during the watch (one per second is expected)
WORKER_NICE = 10
LOCKED = "database is locked"
PIN_ENV = "TFLAB_BENCH_PIN"
# 200 epochs of 50 steps: the run is still training when the test stops it
LONG = TINY | {"epochs": 200, "batch_size": 8, "max_train_examples": 400, "name": "load"}


@pytest.fixture
def own_cpus():
    """Pinning moves this process between CPUs: give it its CPU set back afterwards."""
    before = os.sched_getaffinity(0)
    yield
    os.sched_setaffinity(0, before)


def moved(samples: list[tuple[float, int]], since: float) -> list[int]:
    """The distinct steps shown after `since`, in the order they were shown."""
    return [step for when, step in samples if when >= since]


def test_three_tabs_watch_a_live_run(tmp_path, monkeypatch, own_cpus):
    from playwright.sync_api import sync_playwright

    for name, value in wh.worker_thread_env(1).items():
        monkeypatch.setenv(name, value)  # the worker inherits them through the launcher
    monkeypatch.setenv(PIN_ENV, os.environ.get(PIN_ENV, "0"))  # see the module docstring
    budget = Budget(float(os.environ.get("TFLAB_LOAD_BUDGET_S", 180)))
    wh.pin(wh.SERVER_CPUS)  # the server inherits CPU 0
    with dashboard_server(tmp_path) as (url, runs):
        store = RunStore(runs / "runs.sqlite")
        run_id = wh.launch_run(runs, RunConfig.from_dict(LONG), niceness=WORKER_NICE)
        with sync_playwright() as pw:  # launch_run left this process on CPU 1
            tabs = wh.Tabs(pw, url)
            try:
                tabs.open(run_id, None, TABS, wait_s=None)  # while the worker starts
                wh.wait_for_batches(runs, run_id, timeout=max(1.0, budget.left() - WATCH_S))
                budget.mark("the run trains")
                for page, _ in tabs.pages:
                    chart = page.locator(".tflab-live-chart").first  # dashboard/live_chart.py
                    chart.wait_for(timeout=budget.ms(budget.left() - WATCH_S))
                budget.mark("every tab drew the chart")
                start = time.time()
                time.sleep(WATCH_S)
                progress, charts, bad = tabs.progress(), tabs.seen(), tabs.bad_text()
                budget.mark("watched")
            finally:
                tabs.close()
        steps = store.latest_batch(run_id)["global_step"]
        events = " ".join(e["message"] for e in store.events(run_id))
        with contextlib.suppress(ValueError, PermissionError):
            launcher.stop(run_id, user="bench")
    budget.mark("server ended")
    server_log = (tmp_path / "streamlit.log").read_text(errors="replace")
    worker_log = (runs / run_id / "worker.log").read_text(errors="replace")

    assert tabs.errors == [], tabs.errors
    assert len(progress) == len(charts) == TABS, (progress, charts)
    for i, (shown, (_, drawn)) in enumerate(zip(progress, charts, strict=True)):
        assert len(moved(shown, start)) >= MOVES, f"tab {i}: progress {shown} (run at {steps})"
        assert len(moved(drawn, start)) >= MOVES, f"tab {i}: chart {drawn} (run at {steps})"
        assert moved(drawn, start) == sorted(moved(drawn, start)), f"tab {i}: chart went back"
    for where, text in [("server log", server_log), ("worker log", worker_log), ("events", events)]:
        assert LOCKED not in text, f"{LOCKED!r} in the {where}"
    assert bad == [{LOCKED: 0, "Traceback": 0}] * TABS, bad  # looked at once a second
