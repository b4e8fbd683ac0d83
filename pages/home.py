"""Home page: what the tool does, links to the pages, and the latest runs."""

import streamlit as st

from core.data.registry import list_datasets
from core.runs.queries import run_warnings
from dashboard.queue_view import render_queue_table
from dashboard.widgets import get_store, page_path, runs_table_rows

st.title("TF Lab")
st.markdown(
    "A TensorFlow lab dashboard for your group's server: pick a dataset and a model, train it "
    "while the loss curves move, compare runs, and use the trained model for prediction. "
    "Every run is its own process, so it keeps going when you refresh the page, close the tab "
    "or a colleague opens the same link."
)

st.subheader("Start here")
links = st.columns(5)
for col, (page, label, icon) in zip(
    links,
    [
        ("data", "Look at the data", ":material/dataset:"),
        ("augment", "Augmentations", ":material/auto_fix_high:"),
        ("train", "Train a model", ":material/model_training:"),
        ("compare", "Compare runs", ":material/compare_arrows:"),
        ("predict", "Predict", ":material/online_prediction:"),
    ],
    strict=True,
):
    col.page_link(page_path(page), label=label, icon=icon)

store = get_store()
store.mark_lost_runs()
st.subheader("Latest runs")
runs = store.list_runs(limit=10)
if runs:
    warnings = run_warnings(store, [r.id for r in runs])
    picked = st.dataframe(
        runs_table_rows(runs, with_owner=True, warnings=warnings),
        hide_index=True,
        on_select="rerun",
        selection_mode="single-row",
        key="home-runs",
    )
    st.caption("Select a row to open that run on the Train page.")
    rows = picked.selection.rows
    if rows and rows[0] < len(runs):
        st.switch_page(page_path("train"), query_params={"run": runs[rows[0]].id})
else:
    st.info("No runs yet. Open **Train** and press **Train** to start the first one.")

render_queue_table(store)  # queued and running jobs, when there are any

with st.expander("Datasets", expanded=not runs):
    for info in list_datasets():
        st.markdown(f"**{info.name}** ({info.kind}): {info.description}")
    st.caption(
        "Your own data (class folders, npz, TFRecord, PhaseNet npz folders, any file ObsPy "
        "reads) opens on the Data page; paths are relative to the data root."
    )
