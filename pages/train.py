"""Train page: start a run, watch its live curves, stop or resume it, list recent runs.

The run id lives in the URL (?run=...), so a refresh or a shared link shows the same run.
"""

import streamlit as st

from core.config import ConfigError, RunConfig
from core.data.registry import dataset_info, list_datasets
from core.models.registry import list_models
from core.runs import launcher
from core.runs.queries import run_warnings
from core.tasks.picker_summary import clone_settings
from dashboard.handover import pending
from dashboard.live_feed import mounted as feed_mounted
from dashboard.login import current_user
from dashboard.model_views import render_model_overview
from dashboard.run_panel import render_run_panel
from dashboard.run_watch import SECONDARY_S
from dashboard.tab_visibility import poll_every
from dashboard.train_form import run_config_form
from dashboard.widgets import get_store, runs_table_rows

POLL_SECONDS = 1.0  # the run panel's progress line and loss chart, while its run is live
RECENT_POLL_SECONDS = 3.0  # the recent-runs table, while one of its runs is live
# With the live feed (dashboard/serve.py) the charts follow the run without reruns; the panel
# and the table rerun rarely (each rerun re-renders the whole page in the browser)
FEED_PANEL_SECONDS = 30.0
FEED_RECENT_POLL_SECONDS = 30.0
store = get_store()


def new_run_form() -> None:
    """Settings of a new run (cloned from ?clone=<run id> if given); Train launches it."""
    base = RunConfig()
    clone_id = st.query_params.get("clone")
    if clone_id:
        source = store.get_run(clone_id)
        if source is None:
            st.warning(f"There is no run {clone_id!r} to clone.")
        else:
            base = RunConfig.from_dict(clone_settings(source.id, source.config))
            base.name = f"{source.name or source.id} (tweak)"
            st.info(f"Settings cloned from run {clone_id}: change what you like, press Train.")
    try:
        form_key = f"new_run-clone-{clone_id}" if clone_id else "new_run"
        submitted = run_config_form(base, pending(), form_key=form_key)
    except ConfigError as err:
        st.error(f"Could not start the run: {err}")
        return
    if submitted is None:
        return
    config, k = submitted
    try:
        if k > 1:
            ids = launcher.launch_kfold(config, k, owner=current_user())
            st.toast(f"Started {k} runs, one per fold.")
            run_id = ids[0]
        else:
            run_id = launcher.launch(config, owner=current_user())
    except (ConfigError, ValueError, OSError) as err:
        st.error(f"Could not start the run: {err}")
        return
    st.query_params.pop("clone", None)
    st.query_params["run"] = run_id  # no st.rerun(): it races the URL update (streamlit#7961)


def recent_runs() -> None:
    """Latest runs; selecting a row opens it (and puts its id in the URL)."""
    if st.session_state.pop("open-run-pending", False):
        st.rerun(scope="app")  # the selection changed the URL: the run panel must follow
    runs = store.list_runs(limit=20)
    live = any(r.is_active for r in runs)
    if st.session_state.get("recent-runs-live") and not live:
        st.session_state["recent-runs-live"] = False
        st.rerun(scope="app")  # nothing left to follow: redraw once without the timer
    st.session_state["recent-runs-live"] = live
    if not runs:
        st.caption("No runs yet.")
        return
    st.session_state["recent-run-ids"] = [r.id for r in runs]
    st.dataframe(
        runs_table_rows(runs, with_owner=True, warnings=run_warnings(store, [r.id for r in runs])),
        hide_index=True,
        on_select=_open_selected_run,
        selection_mode="single-row",
        key="recent-runs",
    )


def _open_selected_run() -> None:
    """Selection callback: put the chosen run in the URL, then redraw the whole page."""
    rows = st.session_state["recent-runs"].selection.rows
    ids = st.session_state.get("recent-run-ids", [])
    if rows and rows[0] < len(ids):
        st.query_params["run"] = ids[rows[0]]
        st.session_state["open-run-pending"] = True


def model_overview() -> None:
    """Layers, parameters and a layer diagram of any model, built on demand."""

    with st.expander("Model overview: layers, parameters, diagram"):
        model = st.selectbox("Model", [m.name for m in list_models()], key="overview-model")
        dataset = st.selectbox(
            "Input of dataset", [d.name for d in list_datasets()], key="overview-dataset"
        )
        if st.toggle("Build it (loads TensorFlow on the CPU)", key="overview-build"):
            info = dataset_info(dataset)
            render_model_overview(model, info.input_shape, info.num_classes)


st.title("Train")
form_col, run_col = st.columns([1, 2], gap="large")
with form_col:
    new_run_form()
    model_overview()
with run_col:
    selected = st.query_params.get("run")
    if selected:
        current = store.get_run(selected)
        live = current is not None and current.is_active
        # while live: the panel every SECONDARY_S, its progress line and loss chart every
        # POLL_SECONDS (a nested fragment); no timer in a background tab
        every = poll_every(
            (FEED_PANEL_SECONDS if feed_mounted() else SECONDARY_S) if live else None
        )
        live_every = poll_every(POLL_SECONDS if live else None)
        st.fragment(render_run_panel, run_every=every)(store, selected, live_every)
    else:
        st.info("Choose the settings and press **Train**, or pick a run below.")
st.subheader("Recent runs")
# Polls only while a listed run is live: a page showing finished runs costs the server nothing.
listed_live = any(r.is_active for r in store.list_runs(limit=20))
recent_every = FEED_RECENT_POLL_SECONDS if feed_mounted() else RECENT_POLL_SECONDS
st.fragment(recent_runs, run_every=poll_every(recent_every if listed_live else None))()
