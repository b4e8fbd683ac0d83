"""Shared pieces of the watching benchmarks (bench_watch_cost.py, bench_load.py): a real
dashboard server, digits training runs, headless
Chromium tabs on /train?run=ID, and the measures.

Units: CPU in cores (CPU seconds per wall second) read from /proc/PID/stat; delays in seconds
from a batch's end (the store's batch_metrics wall_time) to the moment its step is the newest
point of the loss chart on a page (an in-page recorder samples the plotly chart every 100 ms);
throughput in batches/s from the store's rows in a time window.

CPU placement (2 cores here): the server, its scheduler and the training workers inherit CPU 0
from this process (os.sched_setaffinity before they start); the Playwright driver and Chromium
are started after switching this process to CPU 1, so the browsers stay off the server's core.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import time
from pathlib import Path

from core.config import RunConfig
from core.runs import launcher
from core.runs.store import RunStore
from tests.browser.server import CHROMIUM, CHROMIUM_ARGS, VIEWPORT

CPU_JOBS_ENV = "TFLAB_CPU_JOBS"  # the scheduler's concurrent CPU jobs: the load needs two
SERVER_CPUS = {0}
BROWSER_CPUS = {1}
TICK = os.sysconf("SC_CLK_TCK")

# Every 100 ms: the newest step of the first chart's batch trace (x is in epochs: step/steps).
RECORDER_JS = """
window.__steps = [];
window.__perEpoch = null;
setInterval(() => {
  const gd = document.querySelector('[data-testid="stPlotlyChart"] .js-plotly-plot');
  if (!gd || !gd._fullData || !gd._fullData.length || !window.__perEpoch) return;
  const x = gd._fullData[0].x;
  if (!x || !x.length) return;
  const step = Math.round(x[x.length - 1] * window.__perEpoch);
  const seen = window.__steps;
  if (!seen.length || seen[seen.length - 1][1] !== step) seen.push([Date.now() / 1000, step]);
}, 100);
"""


def pin(cpus: set[int]) -> None:
    """This process (and what it starts from now on) runs on these CPUs, where they exist.
    TFLAB_BENCH_PIN=0 leaves placement to the kernel (a machine busy with other work)."""
    if os.environ.get("TFLAB_BENCH_PIN", "1") == "0":
        return
    available = os.sched_getaffinity(0) | set(range(os.cpu_count() or 1))
    wanted = cpus & available
    if wanted and len(available) > 1:
        os.sched_setaffinity(0, wanted)


def server_pid(url: str) -> int:
    """The pid of the `streamlit run` serving url (found by its --server.port)."""
    port = url.rsplit(":", 1)[1]
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            args = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if any(b"streamlit" in a for a in args[:2]) and port.encode() in args:
            return int(entry.name)
    raise RuntimeError(f"no streamlit process serves {url}")


def cpu_seconds(pid: int) -> float:
    """utime + stime of the process (all its threads), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class CpuMeter:
    """CPU cores a process used between start() and stop()."""

    def __init__(self, pid: int):
        self.pid = pid

    def start(self) -> None:
        self.t0, self.c0 = time.monotonic(), cpu_seconds(self.pid)

    def stop(self) -> float:
        return (cpu_seconds(self.pid) - self.c0) / max(1e-9, time.monotonic() - self.t0)


def digits_config(name: str, epochs: int = 200) -> RunConfig:
    """A digits CNN run long enough to outlast a measurement."""
    return RunConfig.from_dict(
        {"dataset": "digits", "model": "cnn", "epochs": epochs, "batch_size": 32, "name": name}
    )


def start_run(root: Path, name: str, epochs: int = 200) -> str:
    """Launch a digits run (its worker inherits SERVER_CPUS) and wait for its first batches."""
    pin(SERVER_CPUS)
    try:
        run_id = launcher.launch(digits_config(name, epochs), root, owner="bench")
    finally:
        pin(BROWSER_CPUS)
    store = RunStore(root / "runs.sqlite")
    deadline = time.monotonic() + 180
    while store.latest_batch(run_id) is None:
        run = store.get_run(run_id)
        if not run.is_active and run.status != "queued":
            raise RuntimeError(f"run {run_id} ended before training: {run.status} {run.error}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} wrote no batch within 180 s")
        time.sleep(0.5)
    return run_id


def stop_run(root: Path, run_id: str, timeout: float = 60) -> None:
    store = RunStore(root / "runs.sqlite")
    with contextlib.suppress(ValueError, PermissionError):
        launcher.stop(run_id, user="bench")
    deadline = time.monotonic() + timeout
    while store.get_run(run_id).is_active and time.monotonic() < deadline:
        time.sleep(0.5)


def batch_rate(store: RunStore, run_id: str, t0: float, t1: float) -> float:
    """Batches per second the run finished between wall times t0 and t1."""
    rows = [r for r in store.batch_metrics(run_id, max_points=10**9) if t0 <= r["wall_time"] <= t1]
    if len(rows) < 2:
        return 0.0
    return (rows[-1]["global_step"] - rows[0]["global_step"]) / (
        rows[-1]["wall_time"] - rows[0]["wall_time"]
    )


class Tabs:
    """Chromium pages on /train?run=ID with the step recorder and error capture."""

    def __init__(self, pw, url: str):
        self.browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        self.url = url
        self.pages: list = []
        self.errors: list[str] = []  # page exceptions and console errors of the app
        self.resources: set[str] = set()  # requests that failed (404s, offline look-ups)

    def open(self, run_id: str, steps_per_epoch: int, count: int) -> None:
        for _ in range(count):
            page = self.browser.new_page(viewport=VIEWPORT)
            page.set_default_timeout(60_000)
            page.on("pageerror", lambda err: self.errors.append(f"page exception: {err}"))
            page.on("console", self._console)
            page.on("requestfailed", lambda r: self.resources.add(f"{r.url} ({r.failure})"))
            page.on(
                "response",
                lambda r: r.status >= 400 and self.resources.add(f"{r.url} ({r.status})"),
            )
            page.add_init_script(RECORDER_JS + f"\nwindow.__perEpoch = {steps_per_epoch};")
            page.goto(f"{self.url}/train?run={run_id}")
            self.pages.append((page, run_id))
        for page, _ in self.pages[-count:]:
            page.get_by_test_id("stPlotlyChart").first.wait_for(timeout=300_000)

    def _console(self, msg) -> None:
        """Console errors count, except 'Failed to load resource' (listed in resources)."""
        if msg.type == "error" and not msg.text.startswith("Failed to load resource"):
            self.errors.append(f"console: {msg.text}")

    def seen(self) -> list[tuple[str, list[tuple[float, int]]]]:
        """(run id, [(time seen, step), ...]) of every open page."""
        out = []
        for page, run_id in self.pages:
            with contextlib.suppress(Exception):
                out.append((run_id, [tuple(s) for s in page.evaluate("window.__steps")]))
        return out

    def reset(self) -> None:
        for page, _ in self.pages:
            with contextlib.suppress(Exception):
                page.evaluate("window.__steps = []")

    def close_pages(self) -> None:
        for page, _ in self.pages:
            with contextlib.suppress(Exception):
                page.close()
        self.pages = []

    def close(self) -> None:
        self.close_pages()
        with contextlib.suppress(Exception):
            self.browser.close()


def delays(store: RunStore, seen: list[tuple[str, list[tuple[float, int]]]]) -> list[float]:
    """Seconds from each shown step's batch end to the moment the page showed it."""
    walls: dict[str, dict[int, float]] = {}
    out = []
    for run_id, samples in seen:
        if run_id not in walls:
            rows = store.batch_metrics(run_id, max_points=10**9)
            walls[run_id] = {r["global_step"]: r["wall_time"] for r in rows}
        for when, step in samples[1:]:  # the first sample is the page's first draw
            if step in walls[run_id]:
                out.append(when - walls[run_id][step])
    return out


def summary(values: list[float]) -> dict:
    """n, median, p95 and max of a list of numbers (None when empty)."""
    if not values:
        return {"n": 0, "median": None, "p95": None, "max": None}
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "n": len(ordered),
        "median": round(statistics.median(ordered), 3),
        "p95": round(p95, 3),
        "max": round(ordered[-1], 3),
    }


def run_load(pw, url: str, root: Path, seconds: float, tabs: int = 10, baseline_s: float = 15):
    """Two digits runs train; `tabs` Chromium pages (alternating between the runs) watch them
    for `seconds`. Returns page errors, failed resources, batch-end-to-screen delays, each run's
    batches/s with and without viewers (no-viewer windows of baseline_s before and after) and
    the dashboard's CPU."""
    store = RunStore(root / "runs.sqlite")
    meter = CpuMeter(server_pid(url))
    run_ids = [start_run(root, f"load {i + 1}") for i in range(2)]
    time.sleep(3)  # both past their first tracing

    def rates(window_s: float) -> tuple[list[float], float]:
        t0 = time.time()
        meter.start()
        time.sleep(window_s)
        cpu = meter.stop()
        return [batch_rate(store, r, t0, time.time()) for r in run_ids], cpu

    before, idle_cpu = rates(baseline_s)
    pages = Tabs(pw, url)
    try:
        per_epoch = {r: store.get_run(r).steps_per_epoch for r in run_ids}
        for i in range(tabs):
            run_id = run_ids[i % 2]
            pages.open(run_id, per_epoch[run_id], 1)
        pages.reset()
        watched, cpu = rates(seconds)
        seen = pages.seen()
        progress = {r: store.latest_batch(r)["global_step"] for r in run_ids}
    finally:
        pages.close()
    after, _ = rates(baseline_s)
    for run_id in run_ids:
        stop_run(root, run_id, timeout=30)
    base = [(b + a) / 2 for b, a in zip(before, after, strict=True)]
    return {
        "seconds": seconds,
        "tabs": tabs,
        "page_errors": pages.errors,
        "failed_resources": sorted(pages.resources),
        "delay_s": summary(delays(store, seen)),
        "shown_updates_per_tab": [len(s) for _, s in seen],
        "batches_s_no_viewers": [round(b, 2) for b in base],
        "batches_s_watched": [round(w, 2) for w in watched],
        "throughput_ratio": [
            round(w / b, 3) if b else None for w, b in zip(watched, base, strict=True)
        ],
        "dashboard_cores": round(cpu, 3),
        "dashboard_cores_no_viewers": round(idle_cpu, 3),
        "steps_reached": progress,
    }
