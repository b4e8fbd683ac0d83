"""Train page: start a run, watch its live curves, stop or resume it, list recent runs.

The run id lives in the URL (?run=...), so a refresh or a shared link shows the same run.
"""

import streamlit as st

from core import launcher, paths
from core.config import ConfigError, RunConfig
from core.datasets import list_datasets
from core.models import list_models
from core.optimization import OPTIMIZERS
from dashboard.figures import metric_curves
from dashboard.widgets import format_seconds, get_store, run_progress, runs_table_rows, status_label

POLL_SECONDS = 1.0
store = get_store()


def new_run_form() -> None:
    """Settings of a new run; pressing Train launches it and puts its id in the URL."""
    datasets = {d.name: d for d in list_datasets()}
    models = {m.name: m for m in list_models()}
    defaults = RunConfig()
    with st.form("new_run"):
        dataset = st.selectbox("Dataset", list(datasets), help="Built-in, no download needed.")
        model = st.selectbox("Model", list(models), format_func=lambda m: models[m].description)
        epochs = st.number_input("Epochs", 1, 1000, defaults.epochs)
        batch_size = st.select_slider("Batch size", [8, 16, 32, 64, 128, 256], defaults.batch_size)
        learning_rate = st.number_input(
            "Learning rate", 1e-6, 10.0, defaults.learning_rate, format="%.5f"
        )
        optimizer = st.selectbox("Optimizer", OPTIMIZERS)
        limit = st.number_input("Training examples (0 = all)", 0, 10_000_000, 0, step=100)
        seed = st.number_input("Seed", 0, 2**31 - 1, defaults.seed)
        name = st.text_input("Run name (optional)")
        submitted = st.form_submit_button("Train", type="primary", icon=":material/play_arrow:")
    if not submitted:
        return
    try:
        config = RunConfig(
            dataset=dataset,
            model=model,
            epochs=int(epochs),
            batch_size=int(batch_size),
            learning_rate=float(learning_rate),
            optimizer=optimizer,
            seed=int(seed),
            name=name.strip(),
            max_train_examples=int(limit) or None,
        )
        run_id = launcher.launch(config)
    except (ConfigError, OSError) as err:
        st.error(f"Could not start the run: {err}")
        return
    st.query_params["run"] = run_id  # no st.rerun(): it races the URL update (streamlit#7961)


def run_panel(run_id: str) -> None:
    """Status, progress with ETA, stop/resume, live curves and events of one run."""
    store.mark_lost_runs()
    run = store.get_run(run_id)
    if run is None:
        st.warning(f"There is no run {run_id!r} in {paths.runs_dir()}.")
        return
    title = run.name or run.id
    st.subheader(f"{title}  ·  {status_label(run.status)}")
    st.caption(
        f"run {run.id} · {run.model} on {run.dataset} · batch size "
        f"{run.config.get('batch_size')} · learning rate {run.config.get('learning_rate')}"
    )
    fraction, eta = run_progress(run)
    steps = run.steps_per_epoch or 0
    text = f"epoch {min(run.epoch + 1, run.epochs)}/{run.epochs}"
    if steps and run.is_active:
        text += f" · step {run.step}/{steps} · ETA {format_seconds(eta)}"
    st.progress(fraction, text=text if run.is_active else f"{run.status} · {fraction:.0%}")
    if run.is_active:
        if st.button(
            "Stop", icon=":material/stop:", key=f"stop-{run.id}", disabled=run.stop_requested
        ):
            launcher.stop(run.id)
            st.toast("Stop requested: the run ends after its current batch.")
        if run.stop_requested:
            st.caption("Stop requested ...")
    if run.status == "failed":
        st.error(f"The run failed: {run.error}")
    if run.status == "interrupted":
        st.warning(
            "The worker process ended without finishing (killed, crashed or the machine "
            "restarted). Resume continues from the last finished epoch."
        )
        if st.button("Resume", icon=":material/replay:", key=f"resume-{run.id}"):
            launcher.resume(run.id)
            st.rerun()
    if run.final_metrics and not run.is_active:
        shown = {k: v for k, v in run.final_metrics.items() if isinstance(v, float)}
        for col, (key, value) in zip(st.columns(len(shown) or 1), shown.items(), strict=False):
            col.metric(key.replace("_", " "), f"{value:.4f}")
    batches = store.batch_metrics(run.id, max_points=1500)
    epochs = store.epoch_metrics(run.id)
    names = [m for m in ("loss", "accuracy") if any(m in r for r in batches + epochs)]
    if names:
        for col, metric in zip(st.columns(len(names)), names, strict=False):
            col.plotly_chart(
                metric_curves(batches, epochs, metric, run.steps_per_epoch), key=f"curve-{metric}"
            )
    elif run.is_active:
        st.info("Waiting for the first batch (the worker is starting TensorFlow) ...")
    with st.expander("Events and files"):
        for event in store.events(run.id):
            st.text(f"[{event['level']}] {event['message']}")
        st.code(f"tensorboard --logdir {paths.run_dir(run.id) / 'logs'}", language="bash")
    was_active = st.session_state.get(f"active-{run.id}")
    st.session_state[f"active-{run.id}"] = run.is_active
    if was_active and not run.is_active:
        st.rerun()  # the run just ended: redraw the whole page once, then stop polling


def recent_runs() -> None:
    """Latest runs; selecting a row opens it (and puts its id in the URL)."""
    runs = store.list_runs(limit=20)
    if not runs:
        st.caption("No runs yet.")
        return
    st.session_state["recent-run-ids"] = [r.id for r in runs]
    st.dataframe(
        runs_table_rows(runs),
        hide_index=True,
        on_select=_open_selected_run,
        selection_mode="single-row",
        key="recent-runs",
    )


def _open_selected_run() -> None:
    """Selection callback: runs before the page script, so the panel shows the chosen run."""
    rows = st.session_state["recent-runs"].selection.rows
    ids = st.session_state.get("recent-run-ids", [])
    if rows and rows[0] < len(ids):
        st.query_params["run"] = ids[rows[0]]


st.title("Train")
form_col, run_col = st.columns([1, 2], gap="large")
with form_col:
    new_run_form()
with run_col:
    selected = st.query_params.get("run")
    if selected:
        current = store.get_run(selected)
        live = current is not None and current.is_active
        st.fragment(run_panel, run_every=POLL_SECONDS if live else None)(selected)
    else:
        st.info("Choose the settings and press **Train**, or pick a run below.")
st.subheader("Recent runs")
recent_runs()
