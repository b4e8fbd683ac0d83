"""Cost of watching a run: Streamlit CPU per viewer (live run, live run in background tabs,
finished run), chart delay, and training speed with 0, 1, 5 and 10 headless Chromium tabs on
/train?run=ID.

    .venv/bin/python bench/bench_watch_cost.py [--seconds 20] [--tabs 1,5,10]
        [--steps live,background,finished] [--json]

Steps (default all, in this order):
  * live: a long digits run; a no-viewer window, then each --tabs count of tabs watching it
    (server CPU, delay, batches/s against no-viewer windows before and after);
  * background: the largest count of tabs on the same live run, all hidden;
  * finished: a short digits run (3 epochs) of its own, waited for until it has finished
    (succeeded or stopped); the server with no tab, then with the largest count of tabs on it.
Units: CPU in cores of the Streamlit process (per viewer: the increase over no viewers divided
by the tabs), delay in seconds from a batch's end to its point on screen (median / p95 / max),
training in batches/s (ratio against the no-viewer windows measured before and after). CPU
placement: see bench/watch_harness.py (server and workers on CPU 0, Chromium on CPU 1).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import watch_harness as wh  # noqa: E402
from core.runs.store import RunStore  # noqa: E402
from tests.browser.server import dashboard_server, set_tab_hidden  # noqa: E402

STEPS = ("live", "background", "finished")
FINISHED = ("succeeded", "stopped")
OPEN_WAIT_S = 900  # per tab, for its first chart: ten renderers on a busy core are slow


def window(store, run_id, meter, seconds: float) -> tuple[float, float]:
    """(server cores, run batches/s) over `seconds` from now."""
    t0 = time.time()
    meter.start()
    time.sleep(seconds)
    return meter.stop(), wh.batch_rate(store, run_id, t0, time.time())


def parse_steps(text: str) -> list[str]:
    steps = [s.strip() for s in text.split(",") if s.strip()]
    unknown = [s for s in steps if s not in STEPS]
    if unknown or not steps:
        raise SystemExit(f"--steps: choose from {','.join(STEPS)} (got {text!r})")
    return [s for s in STEPS if s in steps]


def live_steps(store, runs, meter, tabs, steps, counts, seconds: float) -> dict:
    """The live and/or background steps on one long run (stopped at the end)."""
    out: dict = {}
    run_id = wh.start_run(runs, "watched", epochs=2000)  # must outlast every step
    per_epoch = store.get_run(run_id).steps_per_epoch
    time.sleep(3)  # past the first epoch's tracing
    idle_cpu, base_rate = window(store, run_id, meter, seconds)
    out["no_viewer"] = {"server_cores": round(idle_cpu, 4), "batches_s": round(base_rate, 2)}
    live = {}
    for n in counts if "live" in steps else ():
        tabs.open(run_id, per_epoch, n)
        time.sleep(3)  # first draws done
        tabs.reset()
        cpu, rate = window(store, run_id, meter, seconds)
        live[n] = {
            "server_cores": round(cpu, 4),
            "per_viewer_cores": round((cpu - idle_cpu) / n, 4),
            "batches_s": round(rate, 2),
            "delay_s": wh.summary(wh.delays(store, tabs.seen())),
        }
        tabs.close_pages()
        print(f"live, {n} tabs: {live[n]}", flush=True)
    if "background" in steps:
        n = max(counts)
        tabs.open(run_id, per_epoch, n)  # then hidden
        for page, _ in tabs.pages:
            set_tab_hidden(page, True)
        time.sleep(3)  # each hidden tab's one rerun
        cpu, rate = window(store, run_id, meter, seconds)
        out["background"] = {
            "tabs": n,
            "server_cores": round(cpu, 4),
            "per_viewer_cores": round((cpu - idle_cpu) / n, 4),
            "batches_s": round(rate, 2),
        }
        tabs.close_pages()
        print(f"background, {n} tabs: {out['background']}", flush=True)
    if live:
        after_cpu, after_rate = window(store, run_id, meter, seconds)
        base = (base_rate + after_rate) / 2
        out["no_viewer_after"] = {
            "server_cores": round(after_cpu, 4),
            "batches_s": round(after_rate, 2),
        }
        for n in live:
            live[n]["throughput_ratio"] = round(live[n]["batches_s"] / base, 3) if base else None
        out["live"] = live
    wh.stop_run(runs, run_id)
    return out


def wait_finished(store, run_id: str, timeout: float = 600) -> str:
    """The run's status once it has finished (succeeded or stopped); RuntimeError otherwise."""
    deadline = time.monotonic() + timeout
    while True:
        run = store.get_run(run_id)
        if run.status in FINISHED:
            return run.status
        if not run.is_active and run.status != "queued":
            raise RuntimeError(f"run {run_id} ended {run.status}: {run.error}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} still {run.status} after {timeout:.0f} s")
        time.sleep(0.5)


def finished_step(store, runs, meter, tabs, n: int, seconds: float) -> dict:
    """n tabs on a short run that has finished: server cores with none, then with n."""
    run_id = wh.start_run(runs, "finished", epochs=3)
    status = wait_finished(store, run_id)
    time.sleep(3)  # the worker's exit, the scheduler's last look
    idle, _ = window(store, run_id, meter, seconds)
    began = time.monotonic()
    per_epoch = store.get_run(run_id).steps_per_epoch
    tabs.open(run_id, per_epoch, n, wait_s=OPEN_WAIT_S)  # each waits for its chart
    opened_s = time.monotonic() - began
    time.sleep(5)  # the first draws done
    cpu, _ = window(store, run_id, meter, seconds)
    tabs.close_pages()
    return {
        "status": status,
        "status_after": store.get_run(run_id).status,  # still finished: nothing restarted it
        "tabs": n,
        "tabs_open_s": round(opened_s, 1),
        "no_viewer_cores": round(idle, 4),
        "server_cores": round(cpu, 4),
        "per_viewer_cores": round((cpu - idle) / n, 4),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each window")
    parser.add_argument("--tabs", default="1,5,10", help="tab counts to measure")
    parser.add_argument("--steps", default=",".join(STEPS), help="which steps, comma-separated")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    counts = [int(c) for c in args.tabs.split(",") if c]
    steps = parse_steps(args.steps)
    from playwright.sync_api import sync_playwright

    result: dict = {
        "cpus": sorted(wh.SERVER_CPUS),
        "browser_cpus": sorted(wh.BROWSER_CPUS),
        "steps": steps,
        "seconds": args.seconds,
    }
    wh.pin(wh.SERVER_CPUS)  # the server (and what it starts) inherits CPU 0
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        tmp_path = Path(tmp)
        with dashboard_server(tmp_path, data_root=tmp_path / "data") as (url, runs):
            wh.pin(wh.BROWSER_CPUS)
            meter = wh.CpuMeter(wh.server_pid(url))
            store = RunStore(runs / "runs.sqlite")
            with sync_playwright() as pw:
                tabs = wh.Tabs(pw, url)
                try:
                    if "live" in steps or "background" in steps:
                        result |= live_steps(store, runs, meter, tabs, steps, counts, args.seconds)
                    if "finished" in steps:
                        got = finished_step(store, runs, meter, tabs, max(counts), args.seconds)
                        result["finished"] = got
                        print(f"finished: {got}", flush=True)
                    result["page_errors"] = tabs.errors
                    result["failed_resources"] = sorted(tabs.resources)
                finally:
                    tabs.close()
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
