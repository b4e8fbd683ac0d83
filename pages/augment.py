"""Augment page: compose an augmentation pipeline, preview it on real samples, use it to train.

The preview runs exactly the code training runs: variant v of sample i is what the model sees
for that training example in epoch v with this seed (see core.augment.pipeline).
"""

import streamlit as st

from core.data.registry import list_datasets, load_dataset
from core.data.stats import sample_indices
from core.data.types import DatasetError
from dashboard.handover import AugmentationChoice, offer, pending
from dashboard.image_figures import thumbnail
from dashboard.step_editor import step_editor
from dashboard.widgets import page_path

EDITOR = "augment"  # the step editor's session-state prefix (its steps: "augment-steps")


@st.cache_resource(max_entries=4, show_spinner="Loading the dataset ...")
def cached_dataset(name: str):
    return load_dataset(name)


st.title("Augment")
datasets = {d.name: d for d in list_datasets()}
name = st.selectbox("Dataset", list(datasets))
if datasets[name].kind == "waveform":
    from dashboard.waveform_views import render_waveform_augment

    render_waveform_augment(name, train_page=page_path("train"))
    st.stop()

from core.augment.pipeline import OPS, AugmentPipeline, preview  # noqa: E402 - TensorFlow only here

try:
    data = cached_dataset(name)
except DatasetError as err:
    st.error(str(err))
    st.stop()

pipeline_col, preview_col = st.columns([1, 2], gap="large")
with pipeline_col:
    st.subheader("Pipeline")
    offered = pending().get("image")
    spec = step_editor(OPS, EDITOR, defaults=offered.spec if offered else None)
    if not spec:
        st.info("Add operations above; they run in this order.")
with preview_col:
    st.subheader("Preview")
    a, b, c, d = st.columns(4)
    seed = a.number_input("Seed", 0, 2**31 - 1, 0, help="The same seed gives the same images.")
    variants = b.slider("Variants (epochs)", 1, 8, 4)
    count = c.slider("Samples", 1, 6, 3)
    sample_seed = d.number_input("Sample draw", 0, 10_000, 0)
    try:
        pipeline = AugmentPipeline.from_spec(spec)
    except ValueError as err:
        st.error(f"This pipeline cannot run: {err}")
        st.stop()
    idx = sample_indices(data.y_train, count, int(sample_seed))
    grid = preview(pipeline, data.x_train[idx], int(seed), variants, indices=idx)
    names = data.info.class_names
    for i, row in zip(idx, grid, strict=True):
        cols = st.columns(variants + 1)
        cols[0].image(
            thumbnail(data.x_train[i]),
            width=96,
            caption=f"original #{i} ({names[int(data.y_train[i])]})",
        )
        for v, (image, notes) in enumerate(row):
            cols[v + 1].image(thumbnail(image), width=96, caption=f"epoch {v}")
            cols[v + 1].caption("; ".join(notes) if notes else "unchanged")
    st.caption(
        "Variant v of a sample is exactly what training feeds the model for that "
        "training example in epoch v, with this seed (set the run's seed to match)."
    )
    with st.expander("The pipeline as training runs it"):
        st.code(str(pipeline), language=None)
    if st.button("Use for training", type="primary", icon=":material/check:", disabled=not spec):
        offer(AugmentationChoice("image", spec, int(seed)))
        st.success(f"The Train page will use these {len(spec)} step(s).")
        st.page_link(page_path("train"), label="Go to Train", icon=":material/model_training:")
