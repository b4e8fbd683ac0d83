"""Cost of watching a run: Streamlit CPU per viewer (live run, live run in background tabs,
finished run), chart delay, and training speed with 0, 1, 5 and 10 headless Chromium tabs on
/train?run=ID.

    .venv/bin/python bench/bench_watch_cost.py [--seconds 20] [--tabs 1,5,10] [--json]

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


def window(store, run_id, meter, seconds: float) -> tuple[float, float]:
    """(server cores, run batches/s) over `seconds` from now."""
    t0 = time.time()
    meter.start()
    time.sleep(seconds)
    return meter.stop(), wh.batch_rate(store, run_id, t0, time.time())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0, help="length of each window")
    parser.add_argument("--tabs", default="1,5,10", help="tab counts to measure")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    counts = [int(c) for c in args.tabs.split(",") if c]
    from playwright.sync_api import sync_playwright

    result: dict = {"cpus": sorted(wh.SERVER_CPUS), "browser_cpus": sorted(wh.BROWSER_CPUS)}
    wh.pin(wh.SERVER_CPUS)  # the server (and what it starts) inherits CPU 0
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        tmp_path = Path(tmp)
        with dashboard_server(tmp_path, data_root=tmp_path / "data") as (url, runs):
            wh.pin(wh.BROWSER_CPUS)
            meter = wh.CpuMeter(wh.server_pid(url))
            store = RunStore(runs / "runs.sqlite")
            run_id = wh.start_run(runs, "watched", epochs=2000)  # must outlast every phase
            per_epoch = store.get_run(run_id).steps_per_epoch
            time.sleep(3)  # past the first epoch's tracing
            idle_cpu, base_rate = window(store, run_id, meter, args.seconds)
            result["no_viewer"] = {"server_cores": round(idle_cpu, 4), "batches_s": base_rate}
            live = {}
            with sync_playwright() as pw:
                tabs = wh.Tabs(pw, url)
                try:
                    for n in counts:
                        tabs.open(run_id, per_epoch, n)
                        time.sleep(3)  # first draws done
                        tabs.reset()
                        cpu, rate = window(store, run_id, meter, args.seconds)
                        lag = wh.summary(wh.delays(store, tabs.seen()))
                        live[n] = {
                            "server_cores": round(cpu, 4),
                            "per_viewer_cores": round((cpu - idle_cpu) / n, 4),
                            "batches_s": round(rate, 2),
                            "delay_s": lag,
                        }
                        tabs.close_pages()
                        print(f"live, {n} tabs: {live[n]}", flush=True)
                    n = max(counts)
                    tabs.open(run_id, per_epoch, n)  # the same tabs, in the background
                    for page, _ in tabs.pages:
                        set_tab_hidden(page, True)
                    time.sleep(3)  # each hidden tab's one rerun
                    cpu, rate = window(store, run_id, meter, args.seconds)
                    result["background"] = {
                        "tabs": n,
                        "server_cores": round(cpu, 4),
                        "per_viewer_cores": round((cpu - idle_cpu) / n, 4),
                        "batches_s": round(rate, 2),
                    }
                    tabs.close_pages()
                    print(f"background, {n} tabs: {result['background']}", flush=True)
                    after_cpu, after_rate = window(store, run_id, meter, args.seconds)
                    base = (base_rate + after_rate) / 2
                    result["no_viewer_after"] = {"server_cores": after_cpu, "batches_s": after_rate}
                    for n in live:
                        live[n]["throughput_ratio"] = round(live[n]["batches_s"] / base, 3)
                    result["live"] = live
                    wh.stop_run(runs, run_id)
                    time.sleep(2)
                    finished_idle, _ = window(store, run_id, meter, args.seconds / 2)
                    n = max(counts)
                    tabs.open(run_id, per_epoch, n)
                    time.sleep(3)
                    cpu, _ = window(store, run_id, meter, args.seconds)
                    result["finished"] = {
                        "status": store.get_run(run_id).status,  # must not be live any more
                        "tabs": n,
                        "server_cores": round(cpu, 4),
                        "per_viewer_cores": round((cpu - finished_idle) / n, 4),
                        "no_viewer_cores": round(finished_idle, 4),
                    }
                    result["page_errors"] = tabs.errors
                    result["failed_resources"] = sorted(tabs.resources)
                    print(f"finished: {result['finished']}", flush=True)
                finally:
                    tabs.close()
    for key in ("no_viewer", "no_viewer_after"):
        result[key]["batches_s"] = round(result[key]["batches_s"], 2)
        result[key]["server_cores"] = round(result[key]["server_cores"], 4)
    print(json.dumps(result, indent=None if args.json else 2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
