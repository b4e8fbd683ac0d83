"""Shared pieces of the watching benchmarks (bench_watch_cost.py, bench_load.py) and of the CI
load test (tests/browser/test_load_browser.py): a real dashboard server, digits training runs,
headless Chromium tabs on /train?run=ID, and the measures.

Units: CPU in cores (CPU seconds per wall second) read from /proc/PID/stat; delays in seconds
from a batch's end (the store's batch_metrics wall_time) to the moment its step is the newest
point of the loss chart on a page (an in-page recorder samples the plotly chart every 100 ms);
throughput in batches/s from the store's rows in a time window.

CPU placement (2 cores here): the server, its scheduler and the training workers inherit CPU 0
from this process (os.sched_setaffinity before they start); the Playwright driver and Chromium
are started after switching this process to CPU 1, so the browsers stay off the server's core.
Workers can be limited to one TensorFlow thread per pool (worker_thread_env) and niced
(renice), so that two of them cannot starve the server and the tabs of a 2-core machine.
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

# Every 100 ms: the newest step of the first chart's batch trace (x is in epochs: step/steps)
# into __steps, and the run's global step in the progress text ("epoch E/N · step S/M") into
# __progress, each as [seconds since the epoch, step] when it changed. Steps per epoch come from
# the progress text unless the caller set window.__perEpoch. Every second: how often the page's
# text held "database is locked" or "Traceback" (window.__bad), so a message that came and went
# between two looks at the page is counted too.
RECORDER_JS = """
window.__steps = [];
window.__progress = [];
window.__perEpoch = window.__perEpoch || null;
window.__bad = {"database is locked": 0, "Traceback": 0};
setInterval(() => {
  const text = document.body ? document.body.textContent : "";
  for (const phrase in window.__bad) if (text.includes(phrase)) window.__bad[phrase] += 1;
}, 1000);
setInterval(() => {
  // the live feed's progress line (dashboard/live_chart.py) or Streamlit's progress bar
  const bar = document.querySelector(
    '.tflab-live-progress:not([hidden]), [data-testid="stProgress"]');
  const m = bar && bar.innerText.match(/epoch (\\d+)\\/\\d+ · step (\\d+)\\/(\\d+)/);
  if (m) {
    if (!window.__perEpoch) window.__perEpoch = Number(m[3]);
    const at = (Number(m[1]) - 1) * Number(m[3]) + Number(m[2]);
    const done = window.__progress;
    if (!done.length || done[done.length - 1][1] !== at) done.push([Date.now() / 1000, at]);
  }
  // a live run's light loss chart (dashboard/live_chart.py) has its newest plotted step on it;
  // a finished run's loss is the first Plotly chart. Only what is on screen counts: Streamlit
  // keeps zero-height stale copies while a fragment reruns
  const shown = e => e.getBoundingClientRect().height > 0;
  const live = [...document.querySelectorAll(".tflab-live-chart")].find(shown);
  let step = live && live.dataset.lastStep !== "" ? Number(live.dataset.lastStep) : null;
  if (step === null && !live) {
    const gd = [...document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot')]
      .find(shown);
    if (!gd || !gd._fullData || !gd._fullData.length || !window.__perEpoch) return;
    const x = gd._fullData[0].x;
    if (!x || !x.length) return;
    step = Math.round(x[x.length - 1] * window.__perEpoch);
  }
  if (step === null) return;
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


def worker_thread_env(threads: int = 1) -> dict[str, str]:
    """Environment variables that cap a TensorFlow worker's thread pools (intra-op, inter-op,
    OpenMP) at `threads` each; workers inherit them from the process that launches them."""
    value = str(threads)
    return {
        "TF_NUM_INTRAOP_THREADS": value,
        "TF_NUM_INTEROP_THREADS": value,
        "OMP_NUM_THREADS": value,
    }


def renice(pid: int, niceness: int) -> None:
    """Set the nice value of every thread of process `pid` (threads started later inherit it
    from their creator); a process that is gone is skipped."""
    with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(ProcessLookupError):
                os.setpriority(os.PRIO_PROCESS, int(task.name), niceness)


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


def launch_run(root: Path, config: RunConfig, niceness: int = 0) -> str:
    """Launch a run without waiting (its worker inherits SERVER_CPUS); niceness > 0 renices the
    worker as soon as it has a pid, before TensorFlow starts its threads."""
    pin(SERVER_CPUS)
    try:
        run_id = launcher.launch(config, root, owner="bench")
    finally:
        pin(BROWSER_CPUS)
    if niceness:
        store = RunStore(root / "runs.sqlite")
        deadline = time.monotonic() + 10
        while not store.get_run(run_id).pid and time.monotonic() < deadline:
            time.sleep(0.05)
        if store.get_run(run_id).pid:
            renice(store.get_run(run_id).pid, niceness)
    return run_id


def wait_for_batches(root: Path, run_id: str, timeout: float = 180) -> None:
    """Return once the run stored its first batch; RuntimeError if it ended or timed out."""
    store = RunStore(root / "runs.sqlite")
    deadline = time.monotonic() + timeout
    while store.latest_batch(run_id) is None:
        run = store.get_run(run_id)
        if not run.is_active and run.status != "queued":
            raise RuntimeError(f"run {run_id} ended before training: {run.status} {run.error}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"run {run_id} wrote no batch within {timeout:.0f} s")
        time.sleep(0.2)


def start_run(root: Path, name: str, epochs: int = 200, niceness: int = 0) -> str:
    """Launch a digits run (its worker inherits SERVER_CPUS) and wait for its first batches."""
    run_id = launch_run(root, digits_config(name, epochs), niceness)
    wait_for_batches(root, run_id)
    return run_id


def stop_run(root: Path, run_id: str, timeout: float = 60) -> None:
    store = RunStore(root / "runs.sqlite")
    with contextlib.suppress(ValueError, PermissionError):
        launcher.stop(run_id, root, user="bench")
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

    def open(
        self, run_id: str, steps_per_epoch: int | None, count: int, wait_s: float | None = 300
    ) -> None:
        """`count` more pages on the run; waits up to wait_s for each one's first chart (None:
        no wait, e.g. while the run has not started). steps_per_epoch None: read from the
        progress text."""
        per_epoch = "null" if steps_per_epoch is None else int(steps_per_epoch)
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
            page.add_init_script(f"window.__perEpoch = {per_epoch};\n" + RECORDER_JS)
            page.goto(f"{self.url}/train?run={run_id}", wait_until="commit")  # tabs load at once
            self.pages.append((page, run_id))
        if wait_s is None:
            return
        for page, _ in self.pages[-count:]:
            # a live run's canvas charts (dashboard/live_chart.py), a finished run's Plotly ones
            charts = page.locator('.tflab-live-chart, [data-testid="stPlotlyChart"]')
            charts.first.wait_for(timeout=wait_s * 1000)

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

    def progress(self) -> list[list[tuple[float, int]]]:
        """[(time seen, global step), ...] of the progress text, per open page."""
        out = []
        for page, _ in self.pages:
            try:
                out.append([tuple(s) for s in page.evaluate("window.__progress")])
            except Exception:  # noqa: BLE001 - a page that crashed counts as seeing nothing
                out.append([])
        return out

    def bad_text(self) -> list[dict[str, int] | None]:
        """Per open page: in how many of its 1 s looks "database is locked" / "Traceback" was
        on it (None: the page could not answer, e.g. it crashed)."""
        out = []
        for page, _ in self.pages:
            try:
                out.append(page.evaluate("window.__bad"))
            except Exception:  # noqa: BLE001
                out.append(None)
        return out

    def reset(self) -> None:
        for page, _ in self.pages:
            with contextlib.suppress(Exception):
                page.evaluate("window.__steps = []; window.__progress = []")

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


LOCKED = "database is locked"


def locked_mentions(root: Path, run_ids: list[str], bad: list[dict[str, int] | None]) -> int:
    """How often "database is locked" was seen on the pages (Tabs.bad_text), in the runs'
    events and in their worker logs."""
    store = RunStore(root / "runs.sqlite")
    found = sum((counts or {}).get(LOCKED, 0) for counts in bad)
    for run_id in run_ids:
        found += sum(LOCKED in e["message"] for e in store.events(run_id))
        log = root / run_id / "worker.log"
        found += log.read_text(errors="replace").count(LOCKED) if log.is_file() else 0
    return found


def run_load(
    pw,
    url: str,
    root: Path,
    seconds: float,
    tabs: int = 10,
    baseline_s: float = 15,
    niceness: int = 0,
    while_open=None,
):
    """Two digits runs train (workers reniced to `niceness`); `tabs` Chromium pages
    (alternating between the runs) watch them for `seconds`. Returns page errors, failed
    resources, batch-end-to-screen delays, progress updates per tab, each run's batches/s with
    and without viewers (no-viewer windows of baseline_s before and after), the dashboard's CPU
    and how often "database is locked" was seen. while_open(tabs, rates) runs before the tabs
    close (rates(window_s) -> ([batches/s per run], dashboard cores)); its result is "extra"."""
    store = RunStore(root / "runs.sqlite")
    meter = CpuMeter(server_pid(url))
    run_ids = [  # 2,000 epochs: they must outlast every window, however slow the tabs open
        start_run(root, f"load {i + 1}", epochs=2000, niceness=niceness) for i in range(2)
    ]
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
        opened = time.monotonic()
        for i in range(tabs):
            run_id = run_ids[i % 2]
            pages.open(run_id, per_epoch[run_id], 1)
        open_s = time.monotonic() - opened
        pages.reset()
        watched, cpu = rates(seconds)
        seen, shown, bad = pages.seen(), pages.progress(), pages.bad_text()
        progress = {r: store.latest_batch(r)["global_step"] for r in run_ids}
        extra = while_open(pages, rates) if while_open else None
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
        "tabs_open_s": round(open_s, 1),
        "shown_updates_per_tab": [len(s) for _, s in seen],
        "progress_updates_per_tab": [len(s) for s in shown],
        "database_locked_seen": locked_mentions(root, run_ids, bad),
        "tracebacks_seen": sum((counts or {}).get("Traceback", 0) for counts in bad),
        "batches_s_no_viewers": [round(b, 2) for b in base],
        "batches_s_watched": [round(w, 2) for w in watched],
        "throughput_ratio": [
            round(w / b, 3) if b else None for w, b in zip(watched, base, strict=True)
        ],
        "dashboard_cores": round(cpu, 3),
        "dashboard_cores_no_viewers": round(idle_cpu, 3),
        "steps_reached": progress,
        "worker_niceness": niceness,
        "worker_threads": os.environ.get("TF_NUM_INTRAOP_THREADS", "TensorFlow's default"),
        "extra": extra,
    }
