"""The live panel of one run: status, progress with ETA, stop/resume, curves, group summary."""

from __future__ import annotations

import streamlit as st

from core import paths
from core.devices import describe as describe_devices
from core.runs import launcher
from core.runs.groups import group_summary
from core.runs.store import RunStore
from core.tasks.picker_summary import headline, is_picker_model, read_evaluation
from dashboard.continue_view import render_continue, render_heading
from dashboard.figures import log_scaled
from dashboard.live_chart import live_chart, live_panel
from dashboard.live_feed import POLL_MS, feed_url, panel_key, tag
from dashboard.login import current_user, run_permission
from dashboard.queue_view import render_queue_status
from dashboard.run_watch import LIVE_CURVE, PICK_F1, curves, live_feed_series, live_series
from dashboard.widgets import (
    IMPORTED_MODELS,
    owner_label,
    page_path,
    progress_line,
)

HEADLINE = (
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "test_loss",
    "test_accuracy",
    "mae",
    "val_mae",
    "test_mae",
)


def render_run_panel(store: RunStore, run_id: str, live_every: float | None = 1.0) -> None:
    """Everything about one run; called inside a fragment that reruns every
    run_watch.SECONDARY_S seconds while the run is live.

    While live, the progress line and the light loss chart (dashboard.live_chart) are a nested
    fragment of their own that reruns every `live_every` seconds (None: no timer, e.g. a
    background tab): a second costs the server one row read and the browser one canvas redraw.
    A rerun whose run did not change re-sends the figures built before (dashboard.run_watch).
    """
    run = store.get_run(run_id)
    if run is not None and run.is_active and store.mark_lost_runs():
        run = store.get_run(run_id)
    if run is None:
        st.warning(f"There is no run {run_id!r} in {paths.runs_dir()}.")
        return
    render_heading(store, run)  # status badge and health warnings
    st.caption(_caption(run))
    st.caption(describe_devices(run.config.get("devices")))  # GPUs, precision, XLA
    feed = feed_url(store, run.id) if run.is_active else None
    if feed:  # the charts follow the run's live feed on their own (no rerun per update)
        _controls(run)
        _live_feed_part(store, run, feed)
        figures = {}  # no Plotly figure is built while live, but a picker's F1 (per epoch)
        if is_picker_model(run.model):
            figures = {k: v for k, v in curves(store, run)[1].items() if k == PICK_F1}
    elif run.is_active:
        figures = curves(store, run)[1]
        _controls(run)  # Stop: a click reruns this fragment and stops the run at once
        st.fragment(_live_part, run_every=live_every)(store, run.id)
        figures = {k: v for k, v in figures.items() if k != LIVE_CURVE}  # drawn by _live_part
    else:
        batches, figures = curves(store, run)
        _progress(run, batches)
        _controls(run)
    render_queue_status(store, run)  # a queued run: its place, estimated start, Cancel
    render_continue(run)
    if not run.is_active:
        _metric_tiles(run)
    _curves(run, figures)
    if run.group_id:
        _group(store, run.group_id)
    with st.expander("Events, files and TensorBoard"):
        events = store.events(run.id)  # one element, not one per event: less to re-render
        if events:
            st.text("\n".join(f"[{e['level']}] {e['message']}" for e in events))
        st.code(f".venv/bin/tensorboard --logdir {paths.run_dir(run.id) / 'logs'}", language="bash")
    if st.button(
        "Clone & tweak this run", key=f"clone-panel-{run.id}", icon=":material/content_copy:"
    ):
        # a button + switch_page like Compare's (a page_link's click was sometimes lost); the
        # form fills in from ?clone= and the panel keeps showing this run
        st.switch_page(page_path("train"), query_params={"clone": run.id, "run": run.id})
    _rerun_when_ended(run)


def _caption(run) -> str:
    """Id, owner, what it is; a trained run's batch size and optimizer, an imported one's
    source (it was never trained here, so it has none)."""
    head = f"run {run.id} · owner {owner_label(run.owner)}"
    if run.dataset in IMPORTED_MODELS:
        return f"{head} · {IMPORTED_MODELS[run.dataset]}"
    return (
        f"{head} · {run.model} on {run.dataset} · batch size {run.config.get('batch_size')} · "
        f"{run.config.get('optimizer')} at learning rate {run.config.get('learning_rate')}"
    )


WAITING = "Waiting for the first batch (the worker is starting TensorFlow) ..."


def _live_feed_part(store: RunStore, run, url: str) -> None:
    """Progress line and every batch chart of a live run, drawn by dashboard.live_chart and
    kept current by dashboard.live_push's socket (or polling dashboard.live_feed where a socket
    fails); the page reruns only when the panel changes."""
    version, rows, charts = live_feed_series(store, run)
    waiting = WAITING if run.status != "queued" or run.claimed else ""
    live_panel(
        charts,
        progress_line(run, rows),
        {"url": url, "ms": POLL_MS, "tag": tag(version), "panel": panel_key(store, run)},
        log_y=bool(st.session_state.get(f"log-y-{run.id}", False)),
        key=f"live-panel-{run.id}",
        waiting=waiting,
    )
    st.toggle("Log scale for the loss", key=f"log-y-{run.id}")


def _live_part(store: RunStore, run_id: str) -> None:
    """The live run's progress line, log-scale toggle and light loss chart (a 1 s fragment)."""
    run = store.get_run(run_id)
    if run is None:
        return
    batches, data = live_series(store, run)
    _progress(run, batches)
    if data.get("traces"):
        log_y = st.toggle("Log scale for the loss", key=f"log-y-{run.id}")
        live_chart(data, log_y=log_y, key=f"live-chart-{run.id}")
    elif run.status != "queued" or run.claimed:  # else its place in the queue says enough
        st.info(WAITING)
    _rerun_when_ended(run)


def _rerun_when_ended(run) -> None:
    was_active = st.session_state.get(f"active-{run.id}")
    st.session_state[f"active-{run.id}"] = run.is_active
    if was_active and not run.is_active:
        st.rerun()  # the run just ended: redraw the whole page once, then stop polling


def _metric_tiles(run) -> None:
    """The finished run's headline numbers: P/S F1 for pickers, accuracy/loss for the rest."""
    if is_picker_model(run.model):
        _picker_tiles(run)
        return
    if not run.final_metrics:
        return
    shown = [
        (k, run.final_metrics[k]) for k in HEADLINE if isinstance(run.final_metrics.get(k), float)
    ]
    for start in range(0, len(shown), 3):
        row = shown[start : start + 3]
        for col, (key, value) in zip(st.columns(3), row, strict=False):
            col.metric(key.replace("_", " "), f"{value:.4f}")


def _picker_tiles(run) -> None:
    """P and S F1 at 0.5 s and 0.1 s (precision and recall beneath) from the last validation
    epoch, else from the run's saved evaluation; an imported run without one says so."""
    f1 = headline(run)
    metrics = run.final_metrics or {}
    if f1.get("f1_source") is None:
        st.info(
            "No pick scores yet: this run has no validation scores (an imported model, or a "
            "run from before pick scores). Evaluate it on the Predict page to see P and S F1.",
            icon=":material/info:",
        )
        return
    saved = f1["f1_source"] != "validation"
    detail = read_evaluation(paths.run_dir(run.id)) if saved else {}
    rates = {(s["phase"], s["tolerance_s"]): s for s in detail.get("scores", [])}
    cols = st.columns(4)
    for col, (phase, tol) in zip(
        cols, [("P", 0.5), ("S", 0.5), ("P", 0.1), ("S", 0.1)], strict=True
    ):
        value = f1.get(f"{phase.lower()}_f1" + ("" if tol == 0.5 else "_0.1s"))
        if saved:
            found = rates.get((phase, tol), {})
            p, r = found.get("precision"), found.get("recall")
        else:
            p = metrics.get(f"val_{phase.lower()}_precision_{tol:g}s")
            r = metrics.get(f"val_{phase.lower()}_recall_{tol:g}s")
        col.metric(
            f"{phase} F1 at {tol:g} s",
            "-" if value is None else f"{value:.3f}",
            None if p is None or r is None else f"P {p:.2f} · R {r:.2f}",
            delta_color="off",
            delta_arrow="off",
        )
    where = "the validation windows (last epoch)" if not saved else f1["f1_source"]
    losses = " · ".join(
        f"{k.replace('_', ' ')} {metrics[k]:.4f}"
        for k in ("loss", "val_loss")
        if isinstance(metrics.get(k), float)
    )
    st.caption(
        f"Pick scores on {where} (P precision, R recall)." + (f" {losses}." if losses else "")
    )


def _progress(run, batches: list[dict]) -> None:
    fraction, text = progress_line(run, batches)
    st.progress(fraction, text=text)


def _controls(run) -> None:
    """Stop (live), Resume (interrupted) and the failure message."""
    allowed, who_may = run_permission(run)
    if run.is_active:
        if st.button(
            "Stop",
            icon=":material/stop:",
            key=f"stop-{run.id}",
            disabled=run.stop_requested or not allowed,
            help=who_may or None,
        ):
            try:
                launcher.stop(run.id, user=current_user())
                st.toast("Stop requested: the run ends after its current batch.")
                run.stop_requested = True  # this rerun's local copy: say so now, not in 5 s
            except (PermissionError, ValueError) as err:
                st.error(str(err))
        if run.stop_requested:
            st.caption("Stop requested ...")
    if run.status == "failed":
        st.error(f"The run failed: {run.error}")
    if run.status == "interrupted":
        st.warning(
            "The worker process ended without finishing (killed, crashed or the machine "
            "restarted). Resume continues from the last finished epoch."
        )
        if st.button(
            "Resume",
            icon=":material/replay:",
            key=f"resume-{run.id}",
            disabled=not allowed,
            help=who_may or None,
        ):
            try:
                launcher.resume(run.id, user=current_user())
            except (PermissionError, ValueError, OSError) as err:
                st.error(f"Could not resume the run: {err}")
            else:
                st.rerun()


def _curves(run, figures: dict) -> None:
    """Two charts a row, in dashboard.run_watch's order (a picker's P/S F1 first, its per-sample
    accuracy last)."""
    names = list(figures)
    if not names:
        return  # a live run says "Waiting for the first batch" in its live part
    log_y = "loss" in names and st.toggle("Log scale for the loss", key=f"log-y-{run.id}")
    for start in range(0, len(names), 2):
        row = names[start : start + 2]
        for col, metric in zip(st.columns(2), row, strict=False):
            fig = log_scaled(figures[metric]) if log_y and metric == "loss" else figures[metric]
            col.plotly_chart(fig, key=f"curve-{metric}")


def _group(store: RunStore, group_id: str) -> None:
    runs = store.group_runs(group_id)
    done = sum(1 for r in runs if r.status == "succeeded")
    st.markdown(f"**Group {group_id}**: {len(runs)} runs, {done} finished")
    summary = group_summary(runs)
    if summary:
        st.dataframe(
            [
                {
                    "metric": k,
                    "mean": v["mean"],
                    "std": v["std"],
                    "runs": v["n"],
                    "mean ± std": f"{v['mean']:.4f} ± {v['std']:.4f}",
                }
                for k, v in summary.items()
            ],
            hide_index=True,
        )
    st.dataframe(
        [
            {
                "run": r.id,
                "name": r.name,
                "status": r.status,
                "val accuracy": (r.final_metrics or {}).get("val_accuracy"),
            }
            for r in runs
        ],
        hide_index=True,
    )
