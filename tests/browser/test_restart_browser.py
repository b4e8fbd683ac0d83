"""The dashboard restarted while two runs train: the runs keep going, a new Streamlit server on the
same runs folder shows both live again, and every batch is in the store exactly once.

Run 1 is started from server A's Train form, run 2 through core.runs.launcher (the CLI's path);
server A is then ended with SIGTERM (what systemd's restart sends) and server B started. The
workers get one TensorFlow thread per pool and a mild nice, so that they do not starve the
servers and Chromium on a 2-core machine.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from bench import watch_harness as wh
from core.config import RunConfig
from core.runs import launcher
from tests.browser.live_view import PROGRESS, live_loss_step
from tests.browser.server import (
    REPO,
    SERVER_START_S,
    STREAMLIT,
    TEST_BUDGET_S,
    Budget,
    chart_lines,
    end_workers,
    free_port,
    launch_chromium,
    new_page,
    screenshot,
    text_of,
    wait_for_health,
)
from tests.conftest import TINY

pytestmark = pytest.mark.browser

# 50 steps an epoch; stopped long before the end (100 epochs could end within the test)
LONG = TINY | {"epochs": 1000, "batch_size": 8, "max_train_examples": 400}
STEP = re.compile(r"epoch (\d+)/\d+ · step (\d+)/(\d+)")
# The two workers train flat out for the whole test: one TensorFlow thread per pool and a mild
# nice keep them from starving the servers and Chromium (what the test waits on) on 2 cores.
WORKER_NICE = 5


@contextlib.contextmanager
def server(runs: Path, secrets: Path, log: Path):
    """(url, process) of `streamlit run dashboard/serve.py` (what scripts/start.sh runs) on the
    runs folder; its workers are left alone (the test ends them)."""
    port = free_port()
    env = dict(os.environ, TFLAB_RUNS_DIR=str(runs), TFLAB_SECRETS=str(secrets))
    command = [str(STREAMLIT), "run", "dashboard/serve.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    command += ["--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            command,
            cwd=REPO,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_health(f"http://127.0.0.1:{port}", proc, SERVER_START_S)
        yield f"http://127.0.0.1:{port}", proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(10)


def steps_seen(page, budget: Budget, count: int = 3) -> list[tuple[int, int]]:
    """(epoch, step) from the progress text until it changed `count - 1` times, and the loss
    curve redrew in between (the live feed's loss chart's newest step, else the first Plotly
    chart's line); fails if the run does not move on screen."""
    seen: list[tuple[int, int]] = []
    lines: set[str] = set()
    progress = page.locator(PROGRESS)  # the live feed's line or st.progress
    while budget.left() > 5 and (len(seen) < count or len(lines) < count):
        match = STEP.search(text_of(progress))
        if match and (key := (int(match[1]), int(match[2]))) not in seen:
            seen.append(key)
        loss = live_loss_step(page)
        drawn = [f"step {loss}"] if loss else chart_lines(page)
        if drawn and drawn[0]:
            lines.add(drawn[0])
        page.wait_for_timeout(200)
    assert len(seen) >= count, f"progress moved too little: {seen}"
    assert len(lines) >= count, f"the loss curve redrew {len(lines) - 1} times"
    return seen


def renice_workers(store, run_ids: list[str]) -> None:
    """Nice every worker of run_ids that has a pid by now (WORKER_NICE); the rest later."""
    for run_id in run_ids:
        run = store.get_run(run_id)
        if run is not None and run.pid:
            wh.renice(run.pid, WORKER_NICE)


def rows_per_step(runs: Path, run_id: str) -> dict[int, int]:
    with sqlite3.connect(runs / "runs.sqlite") as db:
        return dict(
            db.execute(
                "SELECT global_step, COUNT(*) FROM batch_metrics WHERE run_id = ? GROUP BY 1",
                (run_id,),
            ).fetchall()
        )


def test_runs_survive_a_dashboard_restart_and_show_live_again(tmp_path, monkeypatch):
    from playwright.sync_api import sync_playwright

    runs = tmp_path / "runs"
    runs.mkdir()
    secrets = tmp_path / "secrets.toml"
    secrets.write_text("")
    monkeypatch.setenv("TFLAB_RUNS_DIR", str(runs))
    monkeypatch.setenv("TFLAB_SECRETS", str(secrets))
    monkeypatch.setenv("TFLAB_CPU_JOBS", "2")  # the job queue runs both at once (default: 1)
    for name, value in wh.worker_thread_env(1).items():
        monkeypatch.setenv(name, value)  # the servers pass them on to the workers
    store = launcher.open_store(runs)
    budget = Budget(2 * TEST_BUDGET_S + 60)  # two servers, two runs; ~220 s in a busy CI
    try:
        with sync_playwright() as pw:
            browser = launch_chromium(pw, budget)
            page = new_page(browser)
            with server(runs, secrets, tmp_path / "server-a.log") as (url, proc_a):
                page.goto(f"{url}/train", timeout=budget.ms(20))
                form = page.get_by_test_id("stForm")
                form.get_by_label("Epochs", exact=True).fill(str(LONG["epochs"]))
                form.get_by_label("Training examples (0 = all)", exact=True).fill("400")
                name = form.get_by_label("Run name (optional)", exact=True)
                name.fill("from the form")
                name.press("Tab")
                form.get_by_test_id("stBaseButton-primaryFormSubmit").click()
                page.wait_for_url(re.compile(r"[?&]run="), timeout=budget.ms(15))
                first = re.search(r"[?&]run=([^&#]+)", page.url).group(1)
                second = launcher.launch(RunConfig(**(LONG | {"name": "from the CLI"})), runs)
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline and not all(
                    store.get_run(r).pid for r in (first, second)
                ):
                    time.sleep(0.1)
                renice_workers(store, [first, second])
                steps_seen(page, budget)  # server A shows run 1 live
                budget.mark("server A showed run 1 live")
                os.killpg(proc_a.pid, signal.SIGTERM)  # the restart: A ends ...
                proc_a.wait(15)
            down_at = time.time()
            for run_id in (first, second):
                run = store.get_run(run_id)
                assert run.status in ("queued", "running"), (run_id, run.status, run.error)
            with server(runs, secrets, tmp_path / "server-b.log") as (url, _):  # ... B starts
                up_at = time.time()
                renice_workers(store, [first, second])  # in case a pid came late
                for run_id in (first, second):
                    page.goto(f"{url}/train?run={run_id}", timeout=budget.ms(20))
                    seen = steps_seen(page, budget)
                    assert store.get_run(run_id).status == "running", run_id
                    budget.mark(f"server B shows {run_id} live at {seen[-1]}")
                chart = page.locator(".tflab-live-chart").first  # the live loss chart
                chart.wait_for(timeout=budget.ms(10))
                screenshot(page, "restart-live.png", show=chart)
                for run_id in (first, second):
                    launcher.stop(run_id, runs)  # the workers wind down while B and Chromium end
            browser.close()
        deadline = time.monotonic() + 90
        while any(store.get_run(r).is_active for r in (first, second)):
            store.mark_lost_runs()
            assert time.monotonic() < deadline, "the runs did not stop"
            time.sleep(0.5)
        for run_id in (first, second):
            run = store.get_run(run_id)
            assert run.status == "stopped", (run.status, run.error)
            counts = rows_per_step(runs, run_id)
            last = max(counts)
            assert counts == {step: 1 for step in range(1, last + 1)}, "a row lost or doubled"
            # it kept training while no dashboard ran: batches written in the gap
            with sqlite3.connect(runs / "runs.sqlite") as db:
                gap = db.execute(
                    "SELECT COUNT(*) FROM batch_metrics WHERE run_id = ? AND wall_time"
                    " BETWEEN ? AND ?",
                    (run_id, down_at, up_at),
                ).fetchone()[0]
            assert gap > 0, f"{run_id} wrote nothing while the dashboard was down"
            print(f"{run_id}: {last} steps, {gap} during the {up_at - down_at:.1f} s restart")
    finally:
        end_workers(runs)
