"""Predict page: choose a finished run, give it an image (upload or test sample), see top-k."""

import streamlit as st

from core import paths
from core.data.decode import ImageError, decode_image
from dashboard.figures import top_k_bar
from dashboard.widgets import get_store, page_path


@st.cache_resource(max_entries=4, show_spinner="Loading the model ...")
def load_model(run_id: str):
    from core.tasks.image_predict import load_run_model

    return load_run_model(paths.run_dir(run_id))


@st.cache_data(max_entries=4, show_spinner=False)
def test_split(dataset: str):
    from core.data.registry import load_dataset

    data = load_dataset(dataset)
    return data.x_test, data.y_test, list(data.info.class_names)


st.title("Predict")
store = get_store()
runs = [
    r
    for r in store.list_runs(limit=200)
    if r.status in ("succeeded", "stopped") and (paths.run_dir(r.id) / "model.keras").is_file()
]
if not runs:
    st.info("No trained model yet. Train one on the **Train** page first.")
    st.page_link(page_path("train"), label="Go to Train", icon=":material/model_training:")
    st.stop()

labels = {
    r.id: f"{r.id} · {r.model} on {r.dataset}" + (f" · {r.name}" if r.name else "") for r in runs
}
wanted = st.query_params.get("run")
default = list(labels).index(wanted) if wanted in labels else 0
run_id = st.selectbox("Run", list(labels), index=default, format_func=labels.get)
st.query_params["run"] = run_id

from dashboard.waveform_predict import is_picking_run, render_picking  # noqa: E402

if is_picking_run(paths.run_dir(run_id)):  # seismic phase picker: its own view
    render_picking(run_id, paths.run_dir(run_id))
    st.stop()

from dashboard.reconstruction_view import (  # noqa: E402
    is_reconstruction_run,
    render_reconstruction,
)

if is_reconstruction_run(paths.run_dir(run_id)):  # denoising autoencoder: its own view
    render_reconstruction(run_id, paths.run_dir(run_id))
    st.stop()

from core.tasks.image_predict import PredictError, predict_top_k  # noqa: E402 - TensorFlow only when needed

try:
    loaded = load_model(run_id)
except PredictError as err:
    st.error(str(err))
    st.stop()

k = st.slider("Top k", 1, len(loaded.class_names), min(3, len(loaded.class_names)))
source = st.radio("Image", ["Sample from the test split", "Upload"], horizontal=True)
image, truth = None, None
if source == "Upload":
    upload = st.file_uploader("An image file (PNG, JPEG, ...)", type=None)
    if upload is not None:
        try:
            image = decode_image(upload.getvalue(), loaded.input_shape, upload.name)
        except ImageError as err:
            st.error(str(err))
else:
    x_test, y_test, class_names = test_split(loaded.dataset)
    index = st.number_input(f"Test image index (0-{len(y_test) - 1})", 0, len(y_test) - 1, 0)
    image, truth = x_test[int(index)], class_names[int(y_test[int(index)])]

if image is not None:
    try:
        result = predict_top_k(loaded, image, k=k)[0]
    except PredictError as err:
        st.error(str(err))
        st.stop()
    left, right = st.columns([1, 2])
    with left:
        st.image(
            image,
            caption=f"input {image.shape[1]}x{image.shape[0]}"
            + (f" · true class {truth}" if truth is not None else ""),
            width=200,
            clamp=True,
        )
    with right:
        best = result[0]
        st.metric("Prediction", f"{best['class']} ({best['probability']:.1%})")
        st.plotly_chart(top_k_bar(result))
