"""Pick scores of a picker on its validation windows, per epoch, and its best-F1 thresholds.

Each validation window (its whole stored length, (samples, 3) raw E, N, Z) is picked as
continuous data with the current weights (core.seismic.picking: the model's window, overlap
0.5, min distance 0.5 s, thresholds 0.3) and scored by core.seismic.evaluation. The epoch logs
get, for phase p in {p, s} and tolerance t in {0.1s, 0.5s}:
    val_{p}_precision_{t}, val_{p}_recall_{t}, val_{p}_f1_{t}      (e.g. val_p_f1_0.5s)
best_thresholds() searches the P and S thresholds (0.05 .. 0.95) that give the best F1 at 0.5 s
on the same windows, from one prediction per window; saved_options(model.json) gives them back
as PickOptions.
"""

from __future__ import annotations

import functools

import numpy as np

from core.seismic.evaluation import score_picks
from core.seismic.picking import PickOptions, find_picks, predict_probabilities

TOLERANCES_S = (0.1, 0.5)
GRID = tuple(round(0.05 * k, 2) for k in range(1, 20))  # candidate thresholds


def metric_names() -> list[str]:
    """The names PickScoreCallback adds to the epoch logs."""
    return [
        f"val_{p}_{m}_{t:g}s"
        for p in ("p", "s")
        for t in TOLERANCES_S
        for m in ("precision", "recall", "f1")
    ]


def window_probabilities(predict, windows, model_window: int) -> list[np.ndarray]:
    """[(samples, 3) stitched probabilities] of every window (see core.seismic.picking)."""
    d = PickOptions()
    return [
        predict_probabilities(predict, windows.window(i).data, model_window, d.overlap)[0]
        for i in range(len(windows))
    ]


def scores(probs: list[np.ndarray], windows, rate: float, options: PickOptions) -> dict:
    """{metric name: value} of picks found in `probs` with `options`."""
    found = [find_picks(p, rate, 0.0, options) for p in probs]
    truth = [windows.window(i) for i in range(len(windows))]
    result = score_picks([w.itp for w in truth], [w.its for w in truth], found, rate, TOLERANCES_S)
    out = {}
    for s in result:
        for m in ("precision", "recall", "f1"):
            out[f"val_{s.phase.lower()}_{m}_{s.tolerance_s:g}s"] = float(getattr(s, m))
    return out


def best_thresholds(probs: list[np.ndarray], windows, rate: float, tolerance_s: float = 0.5):
    """{"p_threshold", "s_threshold", "p_f1", "s_f1", "tolerance_s"}: best F1 per phase (the
    lowest such threshold on ties)."""
    best = {"P": (-1.0, 0.3), "S": (-1.0, 0.3)}
    for threshold in GRID:
        got = scores(
            probs, windows, rate, PickOptions(p_threshold=threshold, s_threshold=threshold)
        )
        for phase in best:
            f1 = got[f"val_{phase.lower()}_f1_{tolerance_s:g}s"]
            if f1 > best[phase][0] + 1e-12:
                best[phase] = (f1, threshold)
    return {
        "p_threshold": best["P"][1],
        "s_threshold": best["S"][1],
        "p_f1": round(best["P"][0], 4),
        "s_f1": round(best["S"][0], 4),
        "tolerance_s": tolerance_s,
        "windows": len(windows),
    }


def saved_options(meta: dict) -> PickOptions:
    """PickOptions with the run's saved best-F1 thresholds (model.json "thresholds"), else the
    defaults: what pick and evaluate should start from."""
    saved = meta.get("thresholds") or {}
    d = PickOptions()
    return PickOptions(
        p_threshold=float(saved.get("p_threshold", d.p_threshold)),
        s_threshold=float(saved.get("s_threshold", d.s_threshold)),
    )


@functools.lru_cache(maxsize=1)
def _callback_class():
    import keras
    import tensorflow as tf

    class PickScoreCallback(keras.callbacks.Callback):
        """Adds the pick scores of `picker` on `windows` to each epoch's logs; at the end of
        training, `meta["thresholds"]` gets best_thresholds() of the final weights."""

        def __init__(self, picker, windows, rate: float, meta: dict | None = None):
            super().__init__()
            self.picker, self.windows, self.rate, self.meta = picker, windows, rate, meta
            self.window = int(picker.input_shape[1])
            self._fn = None

        def _predict(self, batch):
            if self._fn is None:
                spec = tf.TensorSpec((None, self.window, 3), tf.float32)
                self._fn = tf.function(
                    lambda x: self.picker(x, training=False),
                    input_signature=[spec],
                    autograph=False,  # a plain call: nothing to convert
                )
            return self._fn(np.asarray(batch, np.float32)).numpy()

        def probabilities(self):
            return window_probabilities(self._predict, self.windows, self.window)

        def on_epoch_end(self, epoch, logs=None):
            if logs is not None and len(self.windows):
                logs.update(scores(self.probabilities(), self.windows, self.rate, PickOptions()))

    return PickScoreCallback


def PickScoreCallback(picker, windows, rate: float, meta: dict | None = None):  # noqa: N802
    """A keras Callback (built lazily so importing this module does not import Keras)."""
    return _callback_class()(picker, windows, rate, meta)
