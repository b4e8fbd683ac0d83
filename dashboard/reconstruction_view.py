"""Predict-page view of a denoising autoencoder run: input, noisy input and reconstruction."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import streamlit as st

from core.data.registry import load_dataset
from core.runs import artifacts
from core.tasks.reconstruction import reconstruct, reconstruction_errors
from dashboard.image_figures import thumbnail


@st.cache_resource(max_entries=2, show_spinner="Loading the model ...")
def _load(run_dir: str, stamp: float):

    return artifacts.load_model(Path(run_dir))


def render_reconstruction(run_id: str, run_dir: Path) -> None:
    """Test images, their noisy copies and what the autoencoder makes of them, with errors."""

    try:
        meta = artifacts.read_model_meta(run_dir)
        model = _load(str(run_dir), (Path(run_dir) / artifacts.MODEL_FILE).stat().st_mtime)
    except (artifacts.ArtifactError, OSError) as err:
        st.error(f"Cannot load the model of run {run_id}: {err}")
        return
    data = load_dataset(meta["dataset"])
    a, b, c = st.columns(3)
    noise = a.slider("Noise level (std)", 0.0, 0.5, float(meta.get("noise_std", 0.2)), 0.01)
    count = b.slider("Images", 1, 8, 4)
    seed = c.number_input("Seed", 0, 10_000, 0)
    idx = np.random.default_rng(int(seed)).choice(len(data.x_test), size=count, replace=False)
    clean = data.x_test[np.sort(idx)]
    noisy, restored = reconstruct(model, clean, noise, int(seed))
    for title, images in (("input", clean), ("noisy input", noisy), ("reconstruction", restored)):
        st.markdown(f"**{title}**")
        st.image([thumbnail(im) for im in images], width=96)
    errors = reconstruction_errors(clean, noisy, restored)
    left, right = st.columns(2)
    left.metric("Mean absolute error, noisy", f"{errors['noisy']:.4f}")
    right.metric(
        "Mean absolute error, reconstructed",
        f"{errors['restored']:.4f}",
        f"{errors['restored'] - errors['noisy']:+.4f}",
        delta_color="inverse",
    )
