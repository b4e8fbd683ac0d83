"""Predict-page view of a denoising autoencoder run: input, noisy input and reconstruction."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import streamlit as st

from dashboard.image_figures import thumbnail


def is_reconstruction_run(run_dir: Path) -> bool:
    try:
        return json.loads((run_dir / "model.json").read_text()).get("task") == "reconstruction"
    except (OSError, ValueError):
        return False


@st.cache_resource(max_entries=2, show_spinner="Loading the model ...")
def _load(run_dir: str):
    import keras

    return keras.models.load_model(Path(run_dir) / "model.keras", safe_mode=True)


def render_reconstruction(run_id: str, run_dir: Path) -> None:
    """Test images, their noisy copies and what the autoencoder makes of them, with errors."""
    from core.data.registry import load_dataset
    from core.tasks.reconstruction import reconstruct

    meta = json.loads((run_dir / "model.json").read_text())
    try:
        model = _load(str(run_dir))
    except Exception as err:  # noqa: BLE001 - a broken file gets a message, not a traceback
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
    noisy_err = float(np.mean(np.abs(noisy - clean)))
    restored_err = float(np.mean(np.abs(restored - clean)))
    left, right = st.columns(2)
    left.metric("Mean absolute error, noisy", f"{noisy_err:.4f}")
    right.metric(
        "Mean absolute error, reconstructed",
        f"{restored_err:.4f}",
        f"{restored_err - noisy_err:+.4f}",
        delta_color="inverse",
    )
