"""Stitching window predictions into one trace: (k, window, 3) float32 -> (samples, 3) float32.

Used by core.seismic.picking.predict_probabilities, one batch of windows at a time (in start
order). "avg": each window's output times a (window, 1) taper, summed, divided by the summed
tapers. When the windows are evenly spaced and the step divides the window (overlap 0.5: two
halves), the batch is added block-wise: a window is window / step blocks of `step` samples and
block j of windows k .. k + B - 1 lands on record blocks k + j .. k + j + B - 1, so a batch
costs window / step vectorised adds instead of one Python-level add per window. The windows
off that grid (the last one, moved to end at the record's end) are added one by one. With two
blocks the sums are bitwise the same as adding window by window. "max": the largest value among
the windows that see a sample in their interior (taper 1), else among all windows.
"""

from __future__ import annotations

import numpy as np


class Stitcher:
    """Accumulates (B, window, 3) float32 predictions of windows starting at `starts`."""

    def __init__(self, total: int, window: int, starts: np.ndarray, weights: np.ndarray,
                 stacking: str = "avg"):  # fmt: skip
        self.window, self.starts, self.stacking = int(window), np.asarray(starts), stacking
        self.weights = np.asarray(weights, np.float32).reshape(window, 1)
        self.inner = self.weights >= 1.0  # (window, 1): the part trusted by max stacking
        step = int(self.starts[1] - self.starts[0]) if len(self.starts) > 1 else 0
        self.step, self.blocks, self.regular = step, 0, 0
        if stacking == "avg" and step > 0 and window % step == 0:
            grid = np.arange(len(self.starts), dtype=np.int64) * step
            self.regular = int(np.argmin(self.starts == grid)) or len(self.starts)
            if self.starts[self.regular - 1] != grid[self.regular - 1]:
                self.regular = 0
            self.blocks = window // step if self.regular > 1 else 0
        if stacking == "avg":
            self.acc = np.zeros((total, 3), np.float32)
            self.norm = np.zeros((total, 1), np.float32)
            ones = np.broadcast_to(self.weights, (len(self.starts), window, 1))
            self._add(self.norm, 0, np.ascontiguousarray(ones), weighted=False)
        else:
            self.acc = np.full((total, 3), -1.0, np.float32)  # max over window interiors
            self.fallback = np.full((total, 3), -1.0, np.float32)  # max over whole windows

    def _add(self, target: np.ndarray, first: int, values: np.ndarray, weighted: bool) -> None:
        """target[start:start + window] += values[i] (* weights) for the windows first, ....

        Works on (…, samples * channels) rows so numpy's inner loops are long and contiguous."""
        n, channels = len(values), target.shape[1]
        taper = np.repeat(self.weights[:, 0], channels)  # (window * channels,)
        grid = max(0, min(n, self.regular - first)) if self.blocks else 0
        if grid:
            width = self.step * channels
            count = self.regular - 1 + self.blocks
            blocks = target[: count * self.step].reshape(count, width)
            parts = values[:grid].reshape(grid, self.blocks, width)
            for j in range(self.blocks):
                part = parts[:, j] * taper[j * width : (j + 1) * width] if weighted else parts[:, j]
                blocks[first + j : first + j + grid] += part
        for i in range(grid, n):
            start = int(self.starts[first + i])
            row = values[i].reshape(-1)
            flat = target[start : start + self.window].reshape(-1)
            flat += row * taper if weighted else row

    def add(self, first: int, probs: np.ndarray) -> None:
        """Add the (B, window, 3) predictions of the windows starts[first : first + B]."""
        if self.stacking == "avg":
            self._add(self.acc, first, probs, weighted=True)
            return
        for i, p in enumerate(probs):
            part = slice(int(self.starts[first + i]), int(self.starts[first + i]) + self.window)
            np.maximum(self.fallback[part], p, out=self.fallback[part])
            np.maximum(self.acc[part], np.where(self.inner, p, -1.0), out=self.acc[part])

    def result(self) -> np.ndarray:
        """(total, 3) float32 stitched probabilities (call once: "avg" divides in place)."""
        if self.stacking == "avg":  # in place: no second (total, 3) array
            np.maximum(self.norm, np.float32(1e-12), out=self.norm)
            return np.divide(self.acc, self.norm, out=self.acc)
        out = np.where(self.acc >= 0, self.acc, self.fallback)
        out[:, 0] = np.clip(1.0 - out[:, 1] - out[:, 2], 0.0, 1.0)
        return out
