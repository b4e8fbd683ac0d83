"""Evaluate page: score an image run on its test split or any labelled dataset (accuracy,
per-class table, confusion matrix whose cells show their images, confident mistakes,
reliability diagram; for autoencoders the error histogram and worst images), then export it."""

import streamlit as st

from core import paths
from core.runs.artifacts import read_model_meta, run_task
from core.runs.queries import runs_with_models
from core.tasks.evaluate_images import (
    SPLITS,
    EvaluateError,
    default_split,
    evaluate_run,
    load_split,
)
from dashboard.evaluate_figures import confusion_heatmap, error_histogram, reliability_diagram
from dashboard.export_view import render_export
from dashboard.widgets import get_store, page_path

GALLERY = 12  # images per gallery row set


@st.cache_data(max_entries=2, show_spinner=False)
def split_images(dataset: str, split: str):
    return load_split(dataset, split).x


def gallery(images, captions: list[str]) -> None:
    if not captions:
        st.caption("No images.")
        return
    cols = st.columns(6)
    for i, caption in enumerate(captions[:GALLERY]):
        with cols[i % 6]:
            st.image(images[i], caption=caption, clamp=True, width=96)


def show_classification(report: dict) -> None:
    names = report["class_names"]
    a, b, c, d = st.columns(4)
    a.metric("Accuracy", f"{report['accuracy']:.1%}")
    b.metric("Macro F1", f"{report['macro_f1']:.3f}")
    c.metric("ECE", f"{report['ece']:.3f}")
    d.metric("Images", f"{report['examples']:,}")
    st.subheader("Per class")
    st.dataframe(report["per_class"], hide_index=True)
    st.subheader("Confusion matrix")
    event = st.plotly_chart(
        confusion_heatmap(report["confusion_matrix"], names),
        on_select="rerun",
        selection_mode="points",
        key="confusion",
    )
    cells = [
        (t, p)
        for t, row in enumerate(report["confusion_matrix"])
        for p, n in enumerate(row)
        if n and t != p
    ] or [(0, 0)]
    cells.sort(key=lambda tp: -report["confusion_matrix"][tp[0]][tp[1]])
    chosen = st.selectbox(
        "Show the images of a cell (or click one in the matrix)",
        cells,
        format_func=lambda tp: (
            f"true {names[tp[0]]} -> predicted {names[tp[1]]} "
            f"({report['confusion_matrix'][tp[0]][tp[1]]})"
        ),
    )
    points = (event or {}).get("selection", {}).get("points", []) if event else []
    if points and points[0].get("x") in names and points[0].get("y") in names:
        chosen = (names.index(points[0]["y"]), names.index(points[0]["x"]))
    images = split_images(report["dataset"], report["split"])
    pairs = zip(report["labels"], report["predicted"], strict=True)
    idx = [i for i, tp in enumerate(pairs) if tp == chosen]
    st.caption(f"true {names[chosen[0]]}, predicted {names[chosen[1]]}: {len(idx)} images")
    gallery(images[idx], [f"#{i}" for i in idx])
    st.subheader("Most confident mistakes")
    mistakes = report["mistakes"]
    gallery(
        images[[m["index"] for m in mistakes]],
        [f"{m['true']} -> {m['predicted']} {m['confidence']:.0%}" for m in mistakes],
    )
    st.plotly_chart(reliability_diagram(report["reliability"], report["ece"]))


def show_reconstruction(report: dict) -> None:
    a, b, c = st.columns(3)
    a.metric("Reconstruction error (MAE)", f"{report['restored_error']:.4f}")
    b.metric("Noisy input error (MAE)", f"{report['noisy_error']:.4f}")
    c.metric("Images", f"{report['examples']:,}")
    st.plotly_chart(error_histogram(report["histogram"]))
    st.subheader("Worst reconstructions")
    images = split_images(report["dataset"], report["split"])
    worst = report["worst"]
    gallery(images[[w["index"] for w in worst]], [f"#{w['index']} {w['error']:.3f}" for w in worst])


st.title("Evaluate")
runs = [
    r
    for r in runs_with_models(get_store(), paths.runs_dir())
    if run_task(paths.run_dir(r.id)) in ("classification", "reconstruction")
]
if not runs:
    st.info("No trained image model yet. Train one on the **Train** page first.")
    st.page_link(page_path("train"), label="Go to Train", icon=":material/model_training:")
    st.stop()

labels = {
    r.id: f"{r.id} · {r.model} on {r.dataset}" + (f" · {r.name}" if r.name else "") for r in runs
}
wanted = st.query_params.get("run")
run_id = st.selectbox(
    "Run",
    list(labels),
    index=list(labels).index(wanted) if wanted in labels else 0,
    format_func=labels.get,
)
st.query_params["run"] = run_id
run_dir = paths.run_dir(run_id)
own = read_model_meta(run_dir).get("dataset", "")
left, right = st.columns([3, 1])
dataset = left.text_input("Dataset (its own, or any labelled folder: folder:<path>)", own).strip()
split = right.selectbox("Split", SPLITS, index=SPLITS.index(default_split(own, dataset)))
key = (run_id, dataset, split)
results = st.session_state.setdefault("evaluations", {})
if st.button("Evaluate", type="primary"):
    bar = st.progress(0.0, text="Evaluating ...")
    try:
        results[key] = evaluate_run(
            run_dir,
            dataset or None,
            split,
            progress=lambda done, total: bar.progress(
                done / total, text=f"{done:,}/{total:,} images"
            ),
        )
    except (EvaluateError, ValueError) as err:
        st.error(str(err))
    bar.empty()
report = results.get(key)
if report is None:
    st.caption("Press **Evaluate** to score the run on this split.")
elif report["task"] == "classification":
    show_classification(report)
else:
    show_reconstruction(report)

st.divider()
render_export(run_id, run_dir)
