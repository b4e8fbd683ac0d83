"""Load: ten headless Chromium sessions watch the live charts of two training runs.

    .venv/bin/python bench/bench_load.py [--seconds 180] [--tabs 10] [--baseline 30]

Prints JSON: page errors (page exceptions and console errors; target 0), failed resource
loads (listed apart), delay in seconds from a batch's end (its batch_metrics wall_time) to its
point on screen (median / p95 / max; target p95 <= 1.5 s), each run's batches/s watched and
without viewers (windows before and after, averaged; target ratio >= 0.9) and the dashboard's
CPU in cores. CPU placement: bench/watch_harness.py. There is no CI version yet: ten tabs
and two TensorFlow workers did not fit on a 2-core CI machine (docs/benchmarks.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench import watch_harness as wh  # noqa: E402
from tests.browser.server import dashboard_server  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=180.0, help="how long the tabs watch")
    parser.add_argument("--tabs", type=int, default=10)
    parser.add_argument("--baseline", type=float, default=30.0, help="each no-viewer window, s")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    os.environ[wh.CPU_JOBS_ENV] = "2"  # both runs train at once (the queue's CPU slots)
    wh.pin(wh.SERVER_CPUS)  # the server (and what it starts) inherits CPU 0
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        tmp_path = Path(tmp)
        with dashboard_server(tmp_path, data_root=tmp_path / "data") as (url, runs):
            wh.pin(wh.BROWSER_CPUS)
            with sync_playwright() as pw:
                result = wh.run_load(pw, url, runs, args.seconds, args.tabs, args.baseline)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
