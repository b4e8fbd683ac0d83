"""Predict-page view of image classifiers: a finished run's model, or a model file uploaded from
elsewhere (loaded only in a separate short-lived process, core.models.untrusted), on one test
image or many uploaded images (files or zips of a folder): top-k, a sortable table, CSV."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import numpy as np
import streamlit as st

from core.data.registry import dataset_info, load_dataset
from core.models.registry import MODELS
from core.models.untrusted import Architecture, UntrustedModelError, inspect_model
from core.models.untrusted import predict as predict_untrusted
from core.models.upload_store import save_upload
from core.runs.artifacts import MODEL_FILE
from core.tasks.gradcam import explain, overlay
from core.tasks.image_predict import (
    PredictError,
    load_run_model,
    predict_top_k,
    prepare_images,
    results_rows,
    rows_to_csv,
    top_k,
)
from dashboard.figures import top_k_bar

IMAGE_LABEL = "Image files (PNG, JPEG, TIFF, ...) or a zip of a folder"
MODEL_LABEL = "Model file: .keras, a SavedModel folder as .zip, or .weights.h5"
METHOD_NAMES = {"layer-cam": "Layer-CAM (Grad-CAM weighted per location, all resolutions)"}


@st.cache_resource(max_entries=4, show_spinner="Loading the model ...")
def load_model(run_dir: str, stamp: float):

    return load_run_model(Path(run_dir))


@st.cache_data(max_entries=4, show_spinner=False)
def test_split(dataset: str):

    data = load_dataset(dataset)
    return data.x_test, data.y_test, list(data.info.class_names)


def render_classification(run_id: str, run_dir: Path) -> None:
    """Top-k classes for a test image or for uploaded images, with a finished run's model."""

    try:
        loaded = load_model(str(run_dir), (Path(run_dir) / MODEL_FILE).stat().st_mtime)
    except (PredictError, OSError) as err:
        st.error(str(err))
        return

    k = st.slider("Top k", 1, len(loaded.class_names), min(3, len(loaded.class_names)))
    source = st.radio("Image", ["Sample from the test split", "Upload"], horizontal=True)
    if source == "Upload":
        prepared = upload_images(loaded.input_shape, key="images")
        if prepared:

            def predict(x):
                return predict_top_k(loaded, x, k=k)

            show_predictions(prepared, predict)
            show_why(loaded, prepared)
        return
    x_test, y_test, class_names = test_split(loaded.dataset)
    index = st.number_input(f"Test image index (0-{len(y_test) - 1})", 0, len(y_test) - 1, 0)
    image, truth = x_test[int(index)], class_names[int(y_test[int(index)])]
    try:
        result = predict_top_k(loaded, image, k=k)[0]
    except PredictError as err:
        st.error(str(err))
        return
    show_one(image, result, f"true class {truth}")
    show_why(loaded, [image])


def upload_images(input_shape: tuple, key: str) -> list:
    """The uploader, the invert choice and the converted images (refusals shown as errors)."""
    files = st.file_uploader(IMAGE_LABEL, accept_multiple_files=True, key=key)
    invert = st.checkbox(
        "Invert (for dark-on-light images when the model learnt light-on-dark, or the reverse)",
        key=f"{key}-invert",
    )
    if not files:
        return []
    prepared = prepare_images([(f.name, f.getvalue()) for f in files], tuple(input_shape), invert)
    for p in prepared:
        if p.error:
            st.error(p.error)
    good = [p for p in prepared if p.array is not None]
    if good and not invert and np.mean([_border(p.array) for p in good]) > 0.6:
        st.caption("These images have a light background; if the model's data is dark, try Invert.")
    return good


def _border(image: np.ndarray) -> float:
    return float(
        np.mean([image[0].mean(), image[-1].mean(), image[:, 0].mean(), image[:, -1].mean()])
    )


def show_predictions(prepared: list, predict) -> None:
    """One image: the picture, the best class and a bar chart; many: a table and a CSV."""
    try:
        results = predict(np.stack([p.array for p in prepared]))
    except (PredictError, UntrustedModelError) as err:
        st.error(str(err))
        return
    if len(prepared) == 1:
        show_one(prepared[0].array, results[0], prepared[0].notes)
        return
    rows = results_rows([p.name for p in prepared], results, [p.notes for p in prepared])
    st.dataframe(rows, hide_index=True)
    st.download_button("Download CSV", rows_to_csv(rows), "predictions.csv", "text/csv")
    done = Counter(p.notes for p in prepared)
    st.caption(
        "What was done to the images: "
        + "; ".join(f"{note or 'nothing'} ({n} image{'s' * (n > 1)})" for note, n in done.items())
    )


def show_one(image: np.ndarray, result: list[dict], caption: str) -> None:
    left, right = st.columns([1, 2])
    with left:
        st.image(
            image,
            caption=f"input {image.shape[1]}x{image.shape[0]}"
            + (f" · {caption}" if caption else ""),
            width=200,
            clamp=True,
        )
    with right:
        best = result[0]
        st.metric("Prediction", f"{best['class']} ({best['probability']:.1%})")
        st.plotly_chart(top_k_bar(result))


def show_why(loaded, images: list) -> None:
    """Layer-CAM (conv models) or saliency for the predicted class, drawn over one of the
    images (arrays, or prepared uploads: with several, the user picks which)."""
    if not st.checkbox("Why? (Grad-CAM for convolutional models, saliency for others)"):
        return
    image = images[0]
    if len(images) > 1:
        names = [p.name for p in images]
        image = images[names.index(st.selectbox("Image to explain", names, key="why-image"))]
    image = getattr(image, "array", image)
    best = predict_top_k(loaded, image)[0][0]
    heat, method = explain(loaded.model, image[None], best["index"])
    st.image(
        overlay(image, heat[0]),
        caption=f"{METHOD_NAMES.get(method, method)} for class {best['class']}: "
        f"red-yellow = most important",
        width=200,
        clamp=True,
    )


@st.cache_data(max_entries=8, show_spinner="Loading the model file in a separate process ...")
def _inspect(path: str, name: str, arch: tuple | None):
    return inspect_model(path, name, Architecture(*arch) if arch else None)


def render_model_file() -> None:
    """Predict with a model file from elsewhere; it never runs in the dashboard process."""
    st.caption(
        "A model file from elsewhere is loaded only in a separate, short-lived process, in "
        "Keras' safe mode: Lambda layers and custom objects are refused."
    )
    upload = st.file_uploader(MODEL_LABEL, type=["keras", "zip", "h5"], key="model-file")
    if upload is None:
        return
    arch = None
    if upload.name.lower().endswith(".h5"):
        names = [m.name for m in MODELS.values() if m.task == "classification"]
        model = st.selectbox("Architecture of the weights", names)
        dataset = st.text_input("Dataset it was trained on (input shape, classes)", "digits")
        try:
            info = dataset_info(dataset)
        except ValueError as err:
            st.error(str(err))
            return
        arch = (model, tuple(info.input_shape), info.num_classes, {})
    path = save_upload(upload.name, upload.getvalue())
    try:
        info = _inspect(str(path), upload.name, arch)
    except UntrustedModelError as err:
        st.error(str(err))
        return
    if len(info.input_shape) != 3 or len(info.output_shape) != 1:
        st.error(
            f"{upload.name}: takes {info.input_shape} and gives {info.output_shape}; this view "
            f"needs an image classifier (h, w, c) -> (classes,)"
        )
        return
    st.success(
        f"{upload.name}: {info.kind} model, input {info.input_shape}, {info.output_shape[0]} "
        f"outputs (checked in a separate process)"
    )
    given = st.text_input("Class names, comma separated (optional)", key="model-file-classes")
    names = [c.strip() for c in given.split(",") if c.strip()]
    if len(names) != info.output_shape[0]:
        names = [str(i) for i in range(info.output_shape[0])]
    k = st.slider("Top k", 1, len(names), min(3, len(names)), key="model-file-k")
    prepared = upload_images(info.input_shape, key="model-file-images")
    if prepared:

        def predict(x):
            return top_k(_predict_file(str(path), upload.name, arch, x), names, k)

        show_predictions(prepared, predict)
        st.caption("Why? is not offered for a model file: it never runs in the dashboard.")


@st.cache_data(max_entries=16, show_spinner="Predicting in a separate process ...")
def _predict_file(path: str, name: str, arch: tuple | None, images: np.ndarray) -> np.ndarray:
    """Outputs of the model file (its folder is named by its digest) on these images; a rerun
    with the same file and images (hashed by content) does not start the process again."""
    return predict_untrusted(path, images, name, Architecture(*arch) if arch else None)[1]
