"""Cheap watching of one run: a version of what changed, and the run's curves built once per
version for every viewer of this dashboard process.

A live run panel reruns every second. Each rerun reads the run's row (one primary-key query, the
version) and, only when the version moved, the batch rows added since the last read (steps >
the last one seen); figures are rebuilt at most every MIN_REBUILD_S per run and shared by all
sessions, so ten tabs on one run cost one build, not ten.

What the browser redraws (a changed plotly figure costs its tab tens of ms of renderer CPU on a
machine without GPU; bench/bench_tab_render.py): while the run is live only LIVE_CURVE (the
loss) follows every new batch; the other batch charts are rebuilt at most every SECONDARY_S
seconds and re-sent unchanged in between (the browser does not redraw an unchanged figure); a
picker's F1 chart changes once per epoch. Points per curve: <= LIVE_POINTS while live,
<= MAX_POINTS once the run ended (the newest point is always kept). Picker runs
(core.tasks.picker_summary.is_picker_model) get PICK_F1 first and per-sample accuracy last.

live_series(): the same watch's data of dashboard.live_chart's light canvas chart of LIVE_CURVE
(what the live panel shows instead of the Plotly loss figure, built once per version, shared).
"""

from __future__ import annotations

import os
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field

import numpy as np
import plotly.graph_objects as go

from core.runs.store import Run, RunStore
from core.tasks.picker_summary import is_picker_model
from dashboard.figures import metric_curves, pick_f1_curves
from dashboard.live_chart import series as live_chart_series

BATCH_TRACE = "train (batch)"  # the name metric_curves gives the per-batch trace
CURVES = ("loss", "accuracy", "mae", "learning_rate", "grad_norm")
MAX_POINTS = 1000  # per curve of a run that ended; the newest point is always kept
LIVE_POINTS = int(os.environ.get("TFLAB_LIVE_POINTS", 300))  # per curve while the run is live
LIVE_CURVE = "loss"  # the one chart that follows every batch while the run is live
SECONDARY_S = float(os.environ.get("TFLAB_LIVE_SECONDARY_S", 5))  # the other charts' cadence, s
MIN_REBUILD_S = 0.3  # a version newer than this is drawn at the next poll, not at once
PICK_F1 = "pick_f1"  # figures' key of a picker's F1 chart (dashboard.figures.pick_f1_curves)


def run_version(run: Run) -> tuple:
    """What a redraw depends on: status, progress counters, stop flag, final metrics."""
    return (
        run.status,
        run.epoch,
        run.step,
        run.steps_per_epoch,
        run.stop_requested,
        bool(run.final_metrics),
    )


@dataclass
class _Watch:
    version: tuple | None = None
    built_at: float = 0.0
    rows: list[dict] = field(default_factory=list)  # every batch row read so far
    epochs: list[dict] = field(default_factory=list)
    epoch_key: tuple | None = None
    figures: dict = field(default_factory=dict)  # metric name -> plotly Figure
    secondary_at: float = float("-inf")  # when the charts other than LIVE_CURVE were built
    templates: dict = field(default_factory=dict)  # metric -> metric_curves(...).to_dict()
    live: dict = field(default_factory=dict)  # dashboard.live_chart.series() of LIVE_CURVE
    feed: list = field(default_factory=list)  # series() of every batch chart (live_feed_series)
    built: dict = field(default_factory=dict)  # "figures" | "live" | "feed" -> version built for
    figures_epoch_key: tuple | None = None  # the epoch_key the figures were last built at
    lock: threading.Lock = field(default_factory=threading.Lock)


_WATCHES: dict[tuple[str, str], _Watch] = {}
_WATCHES_LOCK = threading.Lock()


def curves(store: RunStore, run: Run, now: float | None = None) -> tuple[list[dict], dict]:
    """(thinned batch rows, {metric: figure}) of the run, rebuilt only when its version moved.

    The figures are shared between sessions: callers must not change them.
    """
    with _watched(store, run, now) as watch:
        if watch.built.get("figures") != watch.version:
            _build_figures(run, watch, time.monotonic() if now is None else now)
            watch.built["figures"] = watch.version
        return _thin(watch.rows, _points(run)), watch.figures


def live_feed_series(
    store: RunStore, run: Run, now: float | None = None
) -> tuple[tuple, list[dict], list[dict]]:
    """(the version drawn, thinned batch rows, [dashboard.live_chart.series() of every batch
    chart, LIVE_CURVE first]) for dashboard.live_feed; shared between sessions (read only)."""
    with _watched(store, run, now) as watch:
        rows = _thin(watch.rows, _points(run))
        if watch.built.get("feed") != watch.version:
            names = _chart_names(run, rows, watch.epochs)
            names = (
                [LIVE_CURVE] + [m for m in names if m != LIVE_CURVE]
                if LIVE_CURVE in names
                else names
            )
            watch.feed = [
                live_chart_series(rows, watch.epochs, m, run.steps_per_epoch, BATCH_TRACE)
                for m in names
            ]
            watch.built["feed"] = watch.version
        return watch.version, rows, watch.feed


def live_series(store: RunStore, run: Run, now: float | None = None) -> tuple[list[dict], dict]:
    """(thinned batch rows, dashboard.live_chart.series() of LIVE_CURVE), from the same watch as
    curves(); the dict is shared between sessions: callers must not change it."""
    with _watched(store, run, now) as watch:
        rows = _thin(watch.rows, _points(run))
        if watch.built.get("live") != watch.version:
            watch.live = live_chart_series(
                rows, watch.epochs, LIVE_CURVE, run.steps_per_epoch, BATCH_TRACE
            )
            watch.built["live"] = watch.version
        return rows, watch.live


@contextmanager
def _watched(store: RunStore, run: Run, now: float | None):
    """The run's watch, refreshed if its version moved, held under its lock."""
    now = time.monotonic() if now is None else now
    key = (str(store.path), run.id)
    with _WATCHES_LOCK:
        watch = _WATCHES.setdefault(key, _Watch())
        if len(_WATCHES) > 200:  # forget runs nobody watched for a while
            for old in sorted(_WATCHES, key=lambda k: _WATCHES[k].built_at)[:100]:
                _WATCHES.pop(old, None)
    version = run_version(run)
    with watch.lock:
        fresh = watch.version == version
        recent = run.is_active and now - watch.built_at < MIN_REBUILD_S
        if watch.version is None or not (fresh or recent):
            _refresh(store, run, watch, now)
            watch.version = version
            watch.built_at = now
        yield watch


def forget(store: RunStore, run_id: str) -> None:
    with _WATCHES_LOCK:
        _WATCHES.pop((str(store.path), run_id), None)


def _points(run: Run) -> int:
    return LIVE_POINTS if run.is_active else MAX_POINTS


def _refresh(store: RunStore, run: Run, watch: _Watch, now: float) -> None:
    last = watch.rows[-1]["global_step"] if watch.rows else -1
    new = store.batch_metrics(run.id, after_step=last, max_points=10**9)
    if last >= 0 and new and new[0]["global_step"] <= last:  # cannot happen; be safe
        new = [r for r in new if r["global_step"] > last]
    latest = store.latest_batch(run.id) if not new and watch.rows else None
    if latest is not None and latest["global_step"] < last:  # a resume dropped metrics
        watch.rows = store.batch_metrics(run.id, max_points=10**9)
    else:
        watch.rows.extend(new)
    epoch_key = (run.epoch, run.status, run.steps_per_epoch)
    if epoch_key != watch.epoch_key:
        watch.epochs = store.epoch_metrics(run.id)
        watch.epoch_key = epoch_key
    watch.built = {}  # figures, live and feed series are built when asked for


def _chart_names(run: Run, rows: list[dict], epochs: list[dict]) -> list[str]:
    """The batch charts that have data, in CURVES order (a picker's accuracy last)."""
    names = [m for m in CURVES if any(r.get(m) is not None for r in rows + epochs)]
    if is_picker_model(run.model) and "accuracy" in names:  # no headline for a picker
        names = [m for m in names if m != "accuracy"] + ["accuracy"]
    return names


def _build_figures(run: Run, watch: _Watch, now: float) -> None:
    """watch.figures for the watch's rows: LIVE_CURVE always, the others at most every
    SECONDARY_S while live (else the same objects again), a picker's F1 once per epoch."""
    new_epoch = watch.figures_epoch_key != watch.epoch_key
    if new_epoch:
        watch.templates = {}
        watch.figures_epoch_key = watch.epoch_key
    rows = _thin(watch.rows, _points(run))
    names = _chart_names(run, rows, watch.epochs)
    picker = is_picker_model(run.model)
    secondary = new_epoch or not run.is_active or now - watch.secondary_at >= SECONDARY_S
    if secondary:
        watch.secondary_at = now
    figures = {}
    f1 = pick_f1_curves(watch.epochs) if picker and new_epoch else watch.figures.get(PICK_F1)
    if picker and f1 is not None:
        figures[PICK_F1] = f1
    for metric in names:
        if metric != LIVE_CURVE and not secondary and metric in watch.figures:
            figures[metric] = watch.figures[metric]  # the same object: the browser skips it
            continue
        points = [r for r in rows if r.get(metric) is not None]
        if metric not in watch.templates or (points and not _has_batch_trace(watch, metric)):
            # layout and epoch traces from metric_curves (plotly validates: ~8 ms), once per
            # epoch; the batch trace's arrays are swapped in below for every new version
            watch.templates[metric] = metric_curves(
                points[-1:], watch.epochs, metric, run.steps_per_epoch
            ).to_dict()
        figures[metric] = _figure(watch.templates[metric], points, metric, run.steps_per_epoch)
    watch.figures = figures


def _thin(rows: list[dict], max_points: int = MAX_POINTS) -> list[dict]:
    """Every k-th row (k = ceil(n / max_points)) and always the newest one."""
    every = max(1, -(-len(rows) // max_points))
    if every == 1:
        return rows
    out = rows[::every]
    if out[-1] is not rows[-1]:
        out.append(rows[-1])
    return out


def _has_batch_trace(watch: _Watch, metric: str) -> bool:
    data = watch.templates[metric]["data"]
    return bool(data) and data[0].get("name") == BATCH_TRACE


def _figure(
    template: dict, points: list[dict], metric: str, steps_per_epoch: int | None
) -> go.Figure:
    """The template with the batch trace's x (epochs) and y as arrays, built without plotly's
    validation (the template was validated; ~1 ms instead of ~10 ms for 1,000 points)."""
    data = list(template["data"])
    if points and data and data[0].get("name") == BATCH_TRACE:
        per_epoch = max(1, steps_per_epoch or 1)
        steps = np.fromiter((r["global_step"] for r in points), float, len(points))
        values = np.fromiter((r[metric] for r in points), float, len(points))
        data[0] = {**data[0], "x": steps / per_epoch, "y": values}
    return go.Figure({"data": data, "layout": template["layout"]}, _validate=False)
