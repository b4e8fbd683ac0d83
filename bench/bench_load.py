"""Load: ten headless Chromium sessions watch the live charts of two training runs.

    .venv/bin/python bench/bench_load.py [--seconds 180] [--tabs 10] [--baseline 30]
        [--worker-threads N] [--worker-nice N] [--pairs N --pair-seconds S]
    .venv/bin/python bench/bench_load.py --quick     # 3 tabs, 30 s, 10 s baselines: a smoke run

Prints JSON: page errors (page exceptions and console errors; target 0), failed resource
loads (listed apart), delay in seconds from a batch's end (its batch_metrics wall_time) to its
point on screen (median / p95 / max; target p95 <= 1.5 s), chart and progress updates per tab,
how often "database is locked" was seen (pages, events, worker and server logs; target 0),
each run's batches/s watched and without viewers (windows before and after, averaged; target
ratio >= 0.9) and the dashboard's CPU in cores. CPU placement: bench/watch_harness.py.
--worker-threads caps each worker's TensorFlow thread pools (0: TensorFlow's default);
--worker-nice renices the workers. --pairs N then alternates N pairs of windows with the same
tabs shown and hidden (a hidden tab has no socket, no poll, no rerun): per run, the median of
shown/hidden batches/s, a paired view of the cost of watching that the slow drift of a run's
speed between the no-viewer windows cannot blur. The CI version is
tests/browser/test_load_browser.py (3 tabs, 1 run); figures in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import watch_harness as wh  # noqa: E402
from tests.browser.server import dashboard_server  # noqa: E402

QUICK = {"seconds": 30.0, "tabs": 3, "baseline": 10.0}
SETTLE_S = 3.0  # after showing or hiding the tabs (each hidden tab reruns once), before a window


def paired_windows(tabs, rates, pairs: int, seconds: float) -> dict:
    """Alternating windows (hidden first in even pairs) with every tab shown, then hidden:
    batches/s per run and window, the per-run median of shown/hidden, dashboard cores."""
    from tests.browser.server import set_tab_hidden

    shown, hidden, cores = [], [], {True: [], False: []}
    for pair in range(pairs):
        got = {}
        for hide in (True, False) if pair % 2 == 0 else (False, True):
            for page, _ in tabs.pages:
                set_tab_hidden(page, hide)
            time.sleep(SETTLE_S)
            got[hide], cpu = rates(seconds)
            cores[hide].append(cpu)
        hidden.append(got[True])
        shown.append(got[False])
    runs = range(len(shown[0])) if shown else range(0)
    return {
        "pairs": pairs,
        "window_s": seconds,
        "batches_s_shown": [[round(r, 2) for r in w] for w in shown],
        "batches_s_hidden": [[round(r, 2) for r in w] for w in hidden],
        "throughput_ratio_shown_vs_hidden": [
            round(statistics.median(s[i] / h[i] for s, h in zip(shown, hidden, strict=True)), 3)
            for i in runs
        ],
        "dashboard_cores_shown": round(statistics.median(cores[False]), 3) if pairs else None,
        "dashboard_cores_hidden": round(statistics.median(cores[True]), 3) if pairs else None,
    }


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="how long the tabs watch")
    parser.add_argument("--tabs", type=int, default=10)
    parser.add_argument("--baseline", type=float, default=30.0, help="each no-viewer window, s")
    parser.add_argument(
        "--quick", action="store_true", help="3 tabs for 30 s, 10 s baselines (overrides those)"
    )
    parser.add_argument(
        "--worker-threads", type=int, default=1, help="TF threads per pool (0: TF's default)"
    )
    parser.add_argument("--worker-nice", type=int, default=0, help="nice value of the workers")
    parser.add_argument("--pairs", type=int, default=0, help="shown/hidden window pairs after")
    parser.add_argument("--pair-seconds", type=float, default=20.0, help="each paired window, s")
    args = parser.parse_args(argv)
    if args.quick:
        for key, value in QUICK.items():
            setattr(args, key, value)
    return args


def main() -> int:
    args = parse_args()
    from playwright.sync_api import sync_playwright

    os.environ[wh.CPU_JOBS_ENV] = "2"  # both runs train at once (the queue's CPU slots)
    if args.worker_threads > 0:
        os.environ.update(wh.worker_thread_env(args.worker_threads))  # workers inherit them
    wh.pin(wh.SERVER_CPUS)  # the server (and what it starts) inherits CPU 0
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        tmp_path = Path(tmp)
        with dashboard_server(tmp_path, data_root=tmp_path / "data") as (url, runs):
            wh.pin(wh.BROWSER_CPUS)
            with sync_playwright() as pw:
                pairs = args.pairs and partial(
                    paired_windows, pairs=args.pairs, seconds=args.pair_seconds
                )
                result = wh.run_load(
                    pw, url, runs, args.seconds, args.tabs, args.baseline, args.worker_nice, pairs
                )
        log = (tmp_path / "streamlit.log").read_text(errors="replace")
        result["database_locked_seen"] += log.count(wh.LOCKED)
    result["quick"] = args.quick
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
