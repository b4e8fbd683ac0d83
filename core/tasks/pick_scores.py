"""Pick scores of a picker on its validation windows, per epoch, and its best-F1 thresholds.

Each validation window (its whole stored length, (samples, 3) raw E, N, Z) is picked as
continuous data with the current weights (core.seismic.picking: the model's window, overlap
0.5, min distance 0.5 s, thresholds 0.3) and scored by core.seismic.evaluation. The epoch logs
get, for phase p in {p, s} and tolerance t in {0.1s, 0.5s}:
    val_{p}_precision_{t}, val_{p}_recall_{t}, val_{p}_f1_{t}      (e.g. val_p_f1_0.5s)
best_thresholds() searches the P and S thresholds (0.05 .. 0.95) that give the best F1 at 0.5 s
on the same windows, from one prediction per window (threshold_curve: precision, recall and F1
per threshold, saved with them; peaks found once per window and phase, the same values as
scores() at each threshold); saved_options(model.json) gives them back as PickOptions and
threshold_origin(model.json) says where a default came from.
"""

from __future__ import annotations

import dataclasses
import functools
from dataclasses import asdict

import numpy as np

from core.seismic.evaluation import EvaluationReport, score_picks
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


def window_probabilities(
    predict, windows, model_window: int, options: PickOptions | None = None, progress=None
) -> list[np.ndarray]:
    """[(samples, 3) stitched probabilities] of every window (see core.seismic.picking);
    progress(done, total) after each window."""
    d = options or PickOptions()
    out = []
    for i in range(len(windows)):
        data = windows.window(i).data
        probs, _ = predict_probabilities(
            predict, data, model_window, d.overlap, d.batch_size, d.stacking
        )
        out.append(probs)
        if progress is not None:
            progress(i + 1, len(windows))
    return out


def evaluate_probabilities(
    probs: list[np.ndarray],
    windows,
    rate: float,
    options: PickOptions,
    tolerances_s=TOLERANCES_S,
    dataset: str = "",
    seconds: float = 0.0,
) -> EvaluationReport:
    """The EvaluationReport of picks found with `options` in already predicted windows (so
    new thresholds re-score without predicting again)."""
    options.validate()
    found = [find_picks(p, rate, 0.0, options) for p in probs]
    truth = [windows.window(i) for i in range(len(windows))]
    result = score_picks([w.itp for w in truth], [w.its for w in truth], found, rate, tolerances_s)
    return EvaluationReport(dataset, len(windows), rate, result, asdict(options), seconds)


def scores(probs: list[np.ndarray], windows, rate: float, options: PickOptions) -> dict:
    """{metric name: value} of picks found in `probs` with `options`."""
    report = evaluate_probabilities(probs, windows, rate, options)
    out = {}
    for s in report.scores:
        for m in ("precision", "recall", "f1"):
            out[f"val_{s.phase.lower()}_{m}_{s.tolerance_s:g}s"] = float(getattr(s, m))
    return out


def threshold_curve(
    probs: list[np.ndarray], windows, rate: float, tolerance_s: float = 0.5
) -> list[dict]:
    """[{"threshold", "p_precision", "p_recall", "p_f1", "s_precision", "s_recall", "s_f1"}]
    at tolerance_s for every threshold of GRID (the same threshold for P and S).

    The same values as scores() at each threshold (find_picks with PickOptions' min distance,
    then core.seismic.evaluation's matching), but peaks are found once per window and phase
    and kept per threshold by height (see _peaks_per_threshold), and counted for all
    thresholds at once (_counts)."""
    distance = max(1, int(round(PickOptions().min_distance_s * rate)))
    truth = [windows.window(i) for i in range(len(windows))]
    rows = [{"threshold": threshold} for threshold in GRID]
    grid = np.asarray(GRID, np.float64)[:, None]
    for phase, column in (("p", 1), ("s", 2)):
        tp = fp = fn = np.zeros(len(GRID), np.int64)
        for w, p in zip(truth, probs, strict=True):
            label = w.itp if phase == "p" else w.its
            label = None if label is None or label < 0 else int(label)
            peaks, kept = _peaks_per_threshold(p[:, column], distance, grid)
            t, f, n = _counts(label, peaks, kept, tolerance_s * rate)
            tp, fp, fn = tp + t, fp + f, fn + n
        for row, t, f, n in zip(rows, tp.tolist(), fp.tolist(), fn.tolist(), strict=True):
            row[f"{phase}_precision"] = round(t / (t + f) if t + f else 0.0, 4)
            row[f"{phase}_recall"] = round(t / (t + n) if t + n else 0.0, 4)
            row[f"{phase}_f1"] = round(2 * t / (2 * t + f + n) if t + f + n else 0.0, 4)
    return rows


def _peaks_per_threshold(trace: np.ndarray, distance: int, grid: np.ndarray):
    """(candidates, kept): the local maxima >= grid[0] (n,) sample indices and (len(grid), n)
    bool, kept[k] marking those find_peaks(trace, height=grid[k], distance=distance) returns;
    grid (thresholds, 1) ascending.

    find_peaks takes the local maxima, keeps those with height >= t, then (distance) visits them
    from the highest down and keeps one unless a kept one lies closer than `distance`; each
    decision depends only on the kept peaks visited before it. The maxima >= t are the first
    ones visited at grid[0] <= t too, so the picks at t are those at grid[0] with height >= t,
    if the visiting order among the maxima >= t is the same in both calls. Only maxima of equal
    height can be visited in another order (the sort is not stable), and their order changes
    nothing unless two of them lie closer than `distance`. So thresholds up to the height of
    such a close pair are computed directly, as before; all others by the shortcut."""
    from scipy.signal import find_peaks

    trace = np.asarray(trace, np.float64)
    candidates, props = find_peaks(trace, height=grid[0, 0])
    heights = props["peak_heights"]
    peaks = find_peaks(trace, height=grid[0, 0], distance=distance)[0]
    kept = np.isin(candidates, peaks)[None, :] & (heights[None, :] >= grid)
    for k in np.flatnonzero(grid[:, 0] <= _close_tie_height(candidates, heights, distance)):
        direct = find_peaks(trace, height=grid[k, 0], distance=distance)[0]
        kept[k] = np.isin(candidates, direct)
    return candidates, kept


def _close_tie_height(peaks: np.ndarray, heights: np.ndarray, distance: int) -> float:
    """The largest height two peaks share while fewer than `distance` samples apart (-inf if
    none do)."""
    order = np.lexsort((peaks, heights))  # by height, then position
    h, at = heights[order], peaks[order]
    close = (h[1:] == h[:-1]) & (np.diff(at) < distance)
    return float(h[1:][close].max()) if close.any() else -np.inf


def _counts(label: int | None, peaks: np.ndarray, kept: np.ndarray, tolerance: float):
    """(tp, fp, fn), each (thresholds,) int64: core.seismic.evaluation.match_window of one
    window at each threshold (the picks at threshold k: peaks[kept[k]]); tolerance in samples."""
    sizes = kept.sum(axis=1)
    if label is None:
        return np.zeros_like(sizes), sizes, np.zeros_like(sizes)
    close = np.abs(peaks.astype(np.int64) - label) <= tolerance + 1e-9
    hit = (kept & close[None, :]).any(axis=1).astype(np.int64)
    return hit, sizes - hit, 1 - hit


def best_of_curve(curve: list[dict]) -> dict:
    """{"p_threshold", "s_threshold", "p_f1", "s_f1"}: the best F1 per phase on a
    threshold_curve (the lowest such threshold on ties; 0.3 and F1 0 for an empty curve)."""
    best = {"p": (-1.0, 0.3), "s": (-1.0, 0.3)}
    for row in curve:
        for phase in best:
            if row[f"{phase}_f1"] > best[phase][0] + 1e-12:
                best[phase] = (row[f"{phase}_f1"], row["threshold"])
    return {
        "p_threshold": best["p"][1],
        "s_threshold": best["s"][1],
        "p_f1": round(max(best["p"][0], 0.0), 4),
        "s_f1": round(max(best["s"][0], 0.0), 4),
    }


def best_thresholds(probs: list[np.ndarray], windows, rate: float, tolerance_s: float = 0.5):
    """{"p_threshold", "s_threshold", "p_f1", "s_f1", "tolerance_s", "windows", "curve"}: best
    F1 per phase (the lowest such threshold on ties) and the whole threshold_curve."""
    curve = threshold_curve(probs, windows, rate, tolerance_s)
    return {
        **best_of_curve(curve),
        "tolerance_s": tolerance_s,
        "windows": len(windows),
        "curve": curve,
    }


def saved_options(meta: dict, base: PickOptions | None = None) -> PickOptions:
    """`base` (default PickOptions()) with the run's saved best-F1 thresholds (model.json
    "thresholds") when it has them: what pick and evaluate start from."""
    saved = meta.get("thresholds") or {}
    d = base or PickOptions()
    return dataclasses.replace(
        d,
        p_threshold=float(saved.get("p_threshold", d.p_threshold)),
        s_threshold=float(saved.get("s_threshold", d.s_threshold)),
    )


def threshold_origin(meta: dict, phase: str = "P") -> str:
    """Where a run's default threshold for `phase` comes from, in words, e.g. "0.35, the best
    validation F1 of this run" or "0.3, the general default (this run saved no thresholds)"."""
    saved = meta.get("thresholds") or {}
    key = f"{phase.lower()}_threshold"
    if key in saved:
        f1 = saved.get(f"{phase.lower()}_f1")
        at = f" (F1 {f1:.3f} at {saved.get('tolerance_s', 0.5):g} s" if f1 is not None else ""
        n = saved.get("windows")
        at += (f" on {n} validation windows)" if n else ")") if at else ""
        return f"{float(saved[key]):g}, the best validation F1 of this run{at}"
    default = getattr(PickOptions(), key)
    return f"{default:g}, the general default (this run saved no best-F1 thresholds)"


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
