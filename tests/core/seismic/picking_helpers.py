"""Small fixtures for the picker tests: tiny labelled sets, fake predictors, a saved tiny run."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from core.seismic.windows import NO_PICK, WaveformSet

TINY_SETTINGS = {"filters": [4, 6], "kernel_size": 5}


def tiny_set(n: int, samples: int, seed: int, rate: float = 100.0) -> WaveformSet:
    """n noisy windows with a P (and mostly an S) onset at random positions."""
    rng = np.random.default_rng(seed)
    data = rng.normal(size=(n, samples, 3)).astype(np.float32)
    itp = rng.integers(samples // 10, samples // 2, size=n)
    its = itp + rng.integers(20, samples // 3, size=n)
    its[::4] = NO_PICK
    for i in range(n):
        data[i, itp[i] :] *= 4.0
        if its[i] >= 0:
            data[i, its[i] :, :2] *= 3.0
    meta = [{"station": f"XX.T{i:02d}"} for i in range(n)]
    return WaveformSet(data, itp.astype(np.int64), its.astype(np.int64), rate, meta)


class FakeDataset:
    """What core.seismic.sources.load_waveform_dataset returns, built from small sets."""

    def __init__(self, samples: int, seed: int, sizes=(12, 4, 4)):
        self.train, self.val, self.test = (
            tiny_set(n, samples, seed + k) for k, n in enumerate(sizes)
        )


def gaussian_predictor(p_at, s_at=(), sigma: float = 8.0, edge_garbage: int = 0):
    """A fake model whose output is a known function of absolute time.

    Column 0 of the input must hold the absolute sample index. P and S probabilities are
    Gaussians at the given absolute samples. With edge_garbage > 0, the first and last
    edge_garbage samples of every window instead show a weaker P peak 7 samples late (what a
    network without context might do near a window edge).
    """
    p_at, s_at = np.asarray(p_at, np.float64), np.asarray(s_at, np.float64)

    def bumps(t, centres, scale=1.0, shift=0.0):
        out = np.zeros_like(t)
        for c in centres:
            out = np.maximum(out, scale * np.exp(-((t - c - shift) ** 2) / (2 * sigma**2)))
        return out

    def predict(batch):
        t = np.asarray(batch[..., 0], np.float64)
        p, s = bumps(t, p_at), bumps(t, s_at)
        if edge_garbage:
            bad = np.zeros(t.shape[1], bool)
            bad[:edge_garbage] = bad[-edge_garbage:] = True
            p[:, bad] = bumps(t[:, bad], p_at, 0.7, 7.0)
        s = np.minimum(s, 1 - p)
        return np.stack([1 - p - s, p, s], axis=-1).astype(np.float32)

    return predict


def time_ramp(samples: int) -> np.ndarray:
    """(samples, 3) data whose column 0 is the absolute sample index."""
    data = np.zeros((samples, 3), np.float32)
    data[:, 0] = np.arange(samples, dtype=np.float32)
    return data


def save_tiny_run(
    root: Path, run_id: str = "run-pick", window: int = 400, task: str = "picking"
) -> Path:
    """A run folder with an untrained tiny PhaseNet (model.keras) and its model.json."""
    from core.models.zoo.phasenet import PhaseNetSettings, build_phasenet

    folder = root / run_id
    folder.mkdir(parents=True, exist_ok=True)
    settings = PhaseNetSettings(**TINY_SETTINGS)
    build_phasenet((window, 3), 3, settings).save(folder / "model.keras")
    meta = {
        "task": task,
        "model": "phasenet",
        "dataset": "synthetic",
        "input_shape": [window, 3],
        "window": window,
        "sampling_rate": 100.0,
        "label_shape": "gaussian",
        "label_width": 10,
        "class_names": ["noise", "P", "S"],
    }
    (folder / "model.json").write_text(json.dumps(meta))
    return folder
