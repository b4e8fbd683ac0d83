"""Picking a long record as a background job on the Predict page: submit it, follow its place in
the queue and its progress, show the result; the job id sits in the URL (`?job=<id>`), so a
refresh or a shared link finds it again. Records up to LONG_RECORD_S are picked in the page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

from core import paths
from core.runs import launcher
from core.seismic.obspy_source import read_stream_file
from core.seismic.pick_job import KIND, load_pick_result, pick_params
from core.seismic.picking import PickingError, PickOptions
from dashboard.job_follow import follow_job
from dashboard.login import current_user
from dashboard.widgets import get_store

LONG_RECORD_S = 600.0  # longer records are picked by a worker, not by the page


def submit_pick(
    run_id: str, source: dict, record: int, options: PickOptions, files: dict[str, bytes]
) -> str:
    """Queue a pick job for the logged-in user and put its id in the URL."""
    job_id = launcher.submit_job(
        KIND,
        pick_params(run_id, source, record, options),
        owner=current_user(),
        label=f"pick {source_label(source)} with run {run_id}",
        files=files,
    )
    st.query_params["job"] = job_id
    return job_id


def source_label(source: dict) -> str:
    if "synthetic" in source:
        spec = source["synthetic"]
        return f"synthetic {spec['minutes']} min (seed {spec['seed']})"
    return str(source.get("name") or source.get("file"))


def render_job_from_url(
    run_id: str,
    synthetic: Callable[[int, int], tuple[list, dict]],
    show_result: Callable[[object, object, dict | None], None],
) -> bool:
    """If the URL names a pick job of this run: draw it and return True (else False).

    synthetic(minutes, seed) -> (records, truth) rebuilds a synthetic record for the figure;
    show_result(record, result, truth) draws a finished job's picks.
    """
    job_id = st.query_params.get("job")
    if not job_id:
        return False
    store = get_store()
    job = store.get_job(job_id)
    if job is None or job.kind != KIND or job.params.get("run_id") != run_id:
        st.warning(f"There is no picking job {job_id!r} of this run.")
        _new_pick_button()
        return True
    st.markdown(f"**Job {job_id}**: {job.label}")
    outcome = follow_job(store, job_id, "Picking", "picking job", "starting the picker ...")
    if outcome.get("status") == "succeeded":
        _show_finished(job, outcome, synthetic, show_result)
    _new_pick_button()
    return True


def _show_finished(job, outcome: dict, synthetic, show_result) -> None:
    folder = paths.runs_dir() / "jobs" / job.id
    try:
        result = load_pick_result(folder, outcome["result"] or {})
        source = job.params["source"]
        if "synthetic" in source:
            spec = source["synthetic"]
            records, truth = synthetic(int(spec["minutes"]), int(spec["seed"]))
        else:
            records = read_stream_file(folder / source["file"], target_rate=float(source["rate"]))
            truth = None
        record = records[int(job.params.get("record", 0))]
    except (PickingError, OSError, ValueError, IndexError) as err:
        st.error(f"Cannot show the result of job {job.id}: {err}")
        return
    show_result(record, result, truth)


def _new_pick_button() -> None:
    if st.button("New pick", key="pk-new-job", icon=":material/add:"):
        del st.query_params["job"]
        st.rerun()


def saved_upload(name: str, content: bytes, rate: float) -> tuple[dict, dict[str, bytes]]:
    """(source spec, files) of an uploaded waveform file for a pick job."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(name).name)
    safe = safe.lstrip(".")[-100:] or "upload"
    return {"file": safe, "name": name, "rate": rate}, {safe: content}
