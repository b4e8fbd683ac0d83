"""Compare page: find runs (filtered, paged), overlay their curves, diff their configs, see
hyperparameters against the best validation metric, and rename, tag, note, clone, stop or delete
(everyone may watch and clone; only a run's owner or an admin may change it).
"""

import math

import streamlit as st

from core import paths
from core.runs import launcher
from core.runs.compare import (
    best_metric,
    curve,
    differing_keys,
    flatten_config,
    metric_names,
    with_defaults,
)
from core.runs.queries import (
    RunFilter,
    delete_run_with_artifacts,
    distinct_values,
    get_runs,
    run_warnings,
    search_runs,
)
from core.tasks.picker_summary import is_picker_model
from dashboard.compare_figures import (
    config_frame,
    highlight_differing,
    overlay_figure,
    parallel_coordinates,
)
from dashboard.login import current_user, run_permission
from dashboard.widgets import get_store, owner_label, page_path, runs_table_rows

PICK_METRICS = ("val_p_f1_0.5s", "val_s_f1_0.5s", "val_p_f1_0.1s", "val_s_f1_0.1s")
LOG_AXES = ("learning_rate",)  # hyperparameters drawn on a log axis in parallel coordinates
PAGE_SIZE = 50
MAX_SELECTED = 20
store = get_store()


def selected_ids() -> list[str]:
    raw = st.query_params.get("runs", "")
    return [r for r in raw.split(",") if r][:MAX_SELECTED]


def set_selected(ids: list[str]) -> None:
    if ids:
        st.query_params["runs"] = ",".join(dict.fromkeys(ids))
    else:
        st.query_params.pop("runs", None)


def run_finder() -> None:
    """Filters, one page of runs, and row selection that adds runs to the comparison."""
    options = distinct_values(store)
    text_col, status_col, model_col, data_col, tag_col, owner_col = st.columns([2, 1, 1, 1, 1, 1])
    where = RunFilter(
        text=text_col.text_input("Search id, name or note"),
        status=status_col.selectbox("Status", ["", *options["status"]], format_func=_any),
        model=model_col.selectbox("Model", ["", *options["model"]], format_func=_any),
        dataset=data_col.selectbox("Dataset", ["", *options["dataset"]], format_func=_any),
        tag=tag_col.selectbox("Tag", ["", *options["tag"]], format_func=_any),
        owner=owner_col.selectbox(
            "Owner", ["", *[o for o in options["owner"] if o]], format_func=_any
        ),
    )
    first = store.list_runs(limit=1)
    if not first:
        st.info("No runs yet: train some on the Train page, then compare them here.")
        st.stop()
    if st.session_state.get("compare-filter") != where:  # a new filter starts on page 1
        st.session_state["compare-filter"] = where
        st.session_state["compare-page"] = 0
    page = st.session_state.get("compare-page", 0)
    runs, total = search_runs(store, where, limit=PAGE_SIZE, offset=page * PAGE_SIZE)
    pages = max(1, -(-total // PAGE_SIZE))
    st.caption(
        f"{total:,} matching runs · page {min(page, pages - 1) + 1} of {pages} · "
        "select rows to add them to the comparison"
    )
    st.session_state["compare-visible"] = [r.id for r in runs]
    table_key = f"compare-table-{st.session_state.get('compare-generation', 0)}-{page}"
    st.session_state["compare-table-key"] = table_key
    chosen = set(selected_ids())
    st.dataframe(
        runs_table_rows(runs, with_owner=True, warnings=run_warnings(store, [r.id for r in runs])),
        hide_index=True,
        on_select=_add_selection,
        selection_mode="multi-row",
        # the runs of the URL (?runs=a,b,c) start ticked, so ticking another one adds it
        selection_default={
            "selection": {"rows": [i for i, r in enumerate(runs) if r.id in chosen]}
        },
        key=table_key,
        height=300,
    )
    prev_col, next_col, clear_col, _ = st.columns([1, 1, 1, 4])
    if prev_col.button("Previous page", disabled=page == 0):
        st.session_state["compare-page"] = page - 1
        st.rerun()
    if next_col.button("Next page", disabled=page >= pages - 1):
        st.session_state["compare-page"] = page + 1
        st.rerun()
    if clear_col.button("Clear selection", disabled=not selected_ids()):
        set_selected([])
        st.session_state["compare-generation"] = st.session_state.get("compare-generation", 0) + 1
        st.rerun()  # a fresh table without ticks


def _any(value: str) -> str:
    return value or "any"


def _add_selection() -> None:
    """Ticked rows of this page are selected, unticked ones are not; other pages keep theirs."""
    rows = st.session_state[st.session_state["compare-table-key"]].selection.rows
    visible = st.session_state.get("compare-visible", [])
    ticked = [visible[i] for i in rows if i < len(visible)]
    kept = [r for r in selected_ids() if r not in visible or r in ticked]  # the order they came
    set_selected(kept + [r for r in ticked if r not in kept])


def run_labels(runs: list) -> dict[str, str]:
    """{run id: label} used by curve legends and config columns: the name, or the id; a name
    two runs share gets the id added."""
    names = [r.name or r.id for r in runs]
    return {
        r.id: name if names.count(name) == 1 or name == r.id else f"{name} ({r.id})"
        for r, name in zip(runs, names, strict=True)
    }


def curves_tab(runs: list, epochs: dict) -> None:
    names = metric_names(list(epochs.values()))
    if not names:
        st.info("These runs have no epoch metrics yet.")
        return
    a, b, c, d = st.columns([2, 3, 2, 1], vertical_alignment="bottom")
    metric = a.selectbox("Metric", names)
    which = b.radio("Split", ["train and validation", "train", "validation"], horizontal=True)
    by = c.radio("x axis", ["epoch", "wall time"], horizontal=True)
    log_y = d.toggle("Log scale", key="compare-log-y")
    series = []
    labels = run_labels(runs)
    for i, run in enumerate(runs):
        for validation, key in ((False, metric), (True, f"val_{metric}")):
            if (validation and which == "train") or (not validation and which == "validation"):
                continue
            xs, ys = curve(epochs[run.id], key, run.started, "time" if by == "wall time" else by)
            if xs:
                series.append(
                    {
                        "label": f"{labels[run.id]} · {'val' if validation else 'train'}",
                        "x": xs,
                        "y": ys,
                        "colour": i,
                        "validation": validation,
                    }
                )
    st.plotly_chart(overlay_figure(series, metric, "epoch" if by == "epoch" else "time", log_y))
    st.caption("Solid: training; dashed: validation.")


def configs_tab(runs: list) -> None:
    differing = differing_keys([r.config for r in runs])
    only = st.toggle("Only settings that differ", value=len(runs) > 1)
    frame = config_frame(runs, differing, only)
    frame = frame.rename(columns=run_labels(runs))  # the names the curve legends use
    if frame.empty:
        st.info("All settings are the same.")
        return
    st.dataframe(highlight_differing(frame, differing))
    st.caption(f"{len(differing)} setting(s) differ (highlighted).")


def best_metric_choices(runs: list) -> list[str]:
    """The "best validation metric" choices: pick F1s first when a picker is compared."""
    image = ["val_accuracy", "val_loss", "val_mae"]
    if any(is_picker_model(r.model) for r in runs):
        return [*PICK_METRICS, "val_loss", *image[::2]]
    return [*image, *PICK_METRICS]


def hyperparameters_tab(runs: list, epochs: dict) -> None:
    differing = differing_keys([r.config for r in runs])
    target = st.selectbox("Best validation metric", best_metric_choices(runs))
    rows = []
    for run in runs:
        row = {k: v for k, v in flatten_config(with_defaults(run.config)).items() if k in differing}
        row[target] = best_metric(epochs[run.id], target)
        if row[target] is not None:
            rows.append(row)
    if len(rows) < 2 or not differing:
        st.info("Select at least two finished runs whose settings differ.")
        return
    dims = st.multiselect("Hyperparameters", differing, default=differing[:6])
    figure = parallel_coordinates(rows, dims, target)
    for dimension in figure.data[0].dimensions:
        if dimension.label in LOG_AXES:
            _log_axis(dimension)
    st.plotly_chart(figure)


def _log_axis(dimension) -> None:
    """Parallel coordinates have no log axes: plot log10 of the values, label the decades."""
    values = list(dimension.values)
    if not values or dimension.ticktext or min(values) <= 0:
        return
    logs = [math.log10(v) for v in values]
    decades = range(math.floor(min(logs)), math.ceil(max(logs)) + 1)
    dimension.update(
        label=f"{dimension.label} (log)",
        values=logs,
        tickvals=list(decades),
        ticktext=[f"{10.0**k:g}" for k in decades],
    )


@st.dialog("Delete run")
def confirm_delete(run_id: str) -> None:
    st.write(
        f"Delete run **{run_id}**, its metrics and its folder "
        f"`{paths.run_dir(run_id)}`? This cannot be undone."
    )
    if st.button("Delete", type="primary"):
        try:
            delete_run_with_artifacts(store, run_id, paths.runs_dir(), user=current_user())
        except (ValueError, PermissionError) as err:
            st.error(str(err))
            return
        set_selected([r for r in selected_ids() if r != run_id])
        st.rerun()


def manage_tab(runs: list) -> None:
    for run in runs:
        with st.expander(f"{run.name or run.id} · {run.status}"):
            allowed, who_may = run_permission(run)
            st.caption(
                f"Owner: **{owner_label(run.owner)}**"
                + ("" if allowed else f" · you may watch and clone it. {who_may}")
            )
            locked = not allowed
            name = st.text_input("Name", run.name, key=f"name-{run.id}", disabled=locked)
            tags = st.text_input(
                "Tags (comma separated)", ", ".join(run.tags), key=f"tags-{run.id}", disabled=locked
            )
            note = st.text_area("Note", run.note, key=f"note-{run.id}", disabled=locked)
            save, clone, stop, remove = st.columns(4)
            if save.button(
                "Save",
                key=f"save-{run.id}",
                icon=":material/save:",
                disabled=locked,
                help=who_may or None,
            ):
                _act(
                    "Saved.",
                    store.update_labels,
                    run.id,
                    name=name.strip(),
                    tags=tags.split(","),
                    note=note,
                    user=current_user(),
                )
            if clone.button("Clone & tweak", key=f"clone-{run.id}", icon=":material/content_copy:"):
                # a button, not st.page_link: a link's click was sometimes lost on a fresh server
                st.switch_page(page_path("train"), query_params={"clone": run.id})
            if run.is_active and stop.button(
                "Stop",
                key=f"stop-{run.id}",
                icon=":material/stop:",
                disabled=not allowed or run.stop_requested,
                help=who_may or None,
            ):
                _act(
                    "Stop requested: the run ends after its current batch.",
                    launcher.stop,
                    run.id,
                    user=current_user(),
                )
            busy = "Stop the run first: a running run cannot be deleted." if run.is_active else ""
            if remove.button(
                "Delete",
                key=f"delete-{run.id}",
                icon=":material/delete:",
                disabled=run.is_active or not allowed,
                help=who_may or busy or None,
            ):
                confirm_delete(run.id)
            st.code(
                f".venv/bin/tensorboard --logdir {paths.run_dir(run.id) / 'logs'}", language="bash"
            )


def _act(done: str, change, *args, **kwargs) -> None:
    """Do one change of a run; core refuses what the user may not do (buttons are only a hint)."""
    try:
        change(*args, **kwargs)
    except (PermissionError, ValueError) as err:
        st.error(str(err))
        return
    st.toast(done)
    st.rerun()


st.title("Compare runs")
run_finder()
runs = get_runs(store, selected_ids())
if not runs:
    st.info("Select runs in the table to compare them.")
    st.stop()
st.markdown("**Comparing:** " + ", ".join(f"`{label}`" for label in run_labels(runs).values()))
epochs = {r.id: store.epoch_metrics(r.id) for r in runs}
curves, configs, hyper, manage = st.tabs(["Curves", "Configs", "Hyperparameters", "Manage"])
with curves:
    curves_tab(runs, epochs)
with configs:
    configs_tab(runs)
with hyper:
    hyperparameters_tab(runs, epochs)
with manage:
    manage_tab(runs)
