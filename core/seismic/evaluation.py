"""Scoring picks against labelled windows: precision, recall, F1 and time residuals per phase.

Matching, per window and phase: the true arrival (at most one per window) is matched by the
predicted pick of that phase closest to it, if that one lies within the tolerance (|dt| <= tol):
a true positive with residual dt = predicted - true (seconds). Every other predicted pick in the
window is a false positive (also all picks in a window without that label); an unmatched true
arrival is a false negative. precision = TP / (TP + FP), recall = TP / (TP + FN),
F1 = 2 TP / (2 TP + FP + FN); each is 0 when its denominator is 0.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

from core.seismic.picking import PHASES, Pick, PickOptions, PredictFn, ProgressFn, pick_array

TOLERANCES_S = (0.1, 0.5)


@dataclass
class PhaseScore:
    """Counts and rates of one phase at one time tolerance."""

    phase: str
    tolerance_s: float
    true_picks: int
    predicted_picks: int
    tp: int
    fp: int
    fn: int
    precision: float
    recall: float
    f1: float
    residual_mean_s: float | None  # of matched picks, predicted - true; None if none matched
    residual_std_s: float | None
    residuals_s: list[float] = field(default_factory=list)

    def to_dict(self, with_residuals: bool = True) -> dict:
        data = asdict(self)
        if not with_residuals:
            data.pop("residuals_s")
        return data


def match_window(
    true_sample: int | None, predicted: Sequence[int], tolerance: float
) -> tuple[int, int, int, int | None]:
    """(tp, fp, fn, residual in samples or None) for one window; tolerance in samples."""
    predicted = list(predicted)
    if true_sample is None or true_sample < 0:
        return 0, len(predicted), 0, None
    if predicted:
        offsets = np.asarray(predicted, np.int64) - int(true_sample)
        best = int(np.argmin(np.abs(offsets)))
        if abs(offsets[best]) <= tolerance + 1e-9:
            return 1, len(predicted) - 1, 0, int(offsets[best])
    return 0, len(predicted), 1, None


def score_phase(
    phase: str,
    true_samples: Sequence[int | None],
    predicted: Sequence[Sequence[int]],
    sampling_rate: float,
    tolerance_s: float,
) -> PhaseScore:
    """Score one phase over windows: true arrival per window (None/-1: none), picks per window."""
    if len(true_samples) != len(predicted):
        raise ValueError(f"{len(true_samples)} labels but picks for {len(predicted)} windows")
    tp = fp = fn = 0
    residuals = []
    for true, picks in zip(true_samples, predicted, strict=True):
        t, f, n, residual = match_window(true, picks, tolerance_s * sampling_rate)
        tp, fp, fn = tp + t, fp + f, fn + n
        if residual is not None:
            residuals.append(residual / sampling_rate)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * tp / (2 * tp + fp + fn) if tp + fp + fn else 0.0
    return PhaseScore(
        phase=phase,
        tolerance_s=float(tolerance_s),
        true_picks=tp + fn,
        predicted_picks=sum(len(p) for p in predicted),
        tp=tp,
        fp=fp,
        fn=fn,
        precision=precision,
        recall=recall,
        f1=f1,
        residual_mean_s=float(np.mean(residuals)) if residuals else None,
        residual_std_s=float(np.std(residuals)) if residuals else None,
        residuals_s=[float(r) for r in residuals],
    )


def score_picks(
    itp: Sequence[int | None],
    its: Sequence[int | None],
    picks: Sequence[Sequence[Pick]],
    sampling_rate: float,
    tolerances_s: Sequence[float] = TOLERANCES_S,
) -> list[PhaseScore]:
    """Scores for P and S at each tolerance; picks[i] are the picks found in window i."""
    scores = []
    for phase, truth in (("P", itp), ("S", its)):
        found = [[p.sample for p in window if p.phase == phase] for window in picks]
        truth = [None if t is None or t < 0 else int(t) for t in truth]
        for tolerance in tolerances_s:
            scores.append(score_phase(phase, truth, found, sampling_rate, tolerance))
    return scores


@dataclass
class EvaluationReport:
    """Scores of a picker on labelled windows, with what was evaluated and how."""

    dataset: str
    windows: int
    sampling_rate: float
    scores: list[PhaseScore]
    options: dict
    seconds: float

    def score(self, phase: str, tolerance_s: float) -> PhaseScore:
        for s in self.scores:
            if s.phase == phase and abs(s.tolerance_s - tolerance_s) < 1e-9:
                return s
        raise KeyError(f"no score for {phase} at {tolerance_s} s")

    def rows(self) -> list[dict]:
        """One flat row per phase and tolerance (for tables), residuals in seconds."""
        return [s.to_dict(with_residuals=False) for s in self.scores]

    def to_dict(self, with_residuals: bool = True) -> dict:
        return {
            "dataset": self.dataset,
            "windows": self.windows,
            "sampling_rate": self.sampling_rate,
            "options": self.options,
            "seconds": self.seconds,
            "scores": [s.to_dict(with_residuals) for s in self.scores],
        }


def evaluate_windows(
    predict: PredictFn,
    windows,
    model_window: int,
    options: PickOptions | None = None,
    tolerances_s: Sequence[float] = TOLERANCES_S,
    dataset: str = "",
    progress: ProgressFn | None = None,
) -> EvaluationReport:
    """Pick every labelled window (anything with len() and .window(i) -> WaveformWindow, e.g. a
    WaveformSet) like continuous data and score the picks.

    Windows longer than the model's are slid over exactly as a continuous record would be.
    """
    options = options or PickOptions()
    options.validate()
    if len(windows) == 0:
        raise ValueError(f"dataset {dataset!r} has no labelled windows to evaluate")
    began = time.perf_counter()
    found, itp, its, rates = [], [], [], set()
    for i in range(len(windows)):
        w = windows.window(i)
        rates.add(float(w.sampling_rate))
        result = pick_array(predict, w.data, w.sampling_rate, model_window, 0.0, options)
        found.append(result.picks)
        itp.append(w.itp)
        its.append(w.its)
        if progress is not None:
            progress(i + 1, len(windows))
    if len(rates) != 1:
        raise ValueError(f"windows at different sampling rates {sorted(rates)} Hz")
    rate = rates.pop()
    scores = score_picks(itp, its, found, rate, tolerances_s)
    return EvaluationReport(
        dataset, len(windows), rate, scores, asdict(options), time.perf_counter() - began
    )


__all__ = [
    "PHASES",
    "TOLERANCES_S",
    "EvaluationReport",
    "PhaseScore",
    "evaluate_windows",
    "match_window",
    "score_phase",
    "score_picks",
]


@dataclass
class ContinuousScore:
    """Picks on a continuous record against its true arrivals (any number per phase)."""

    phase: str
    tolerance_s: float
    true_arrivals: int
    recall: float  # share of true arrivals with a pick of this phase within the tolerance
    far_picks: int  # picks of this phase farther than the tolerance from every true arrival


def score_continuous(
    picks: Sequence[Pick],
    truth: dict[str, Sequence[int]],
    sampling_rate: float,
    tolerance_s: float = 0.5,
) -> list[ContinuousScore]:
    """One ContinuousScore per phase that has true arrivals; truth: {"P": [sample, ...]}."""
    scores = []
    for phase in PHASES:
        true = np.asarray(truth.get(phase, []), np.int64)
        if not len(true):
            continue
        found = np.asarray([p.sample for p in picks if p.phase == phase], np.int64)
        near = np.abs(found[:, None] - true[None, :]) <= tolerance_s * sampling_rate
        recall = float(near.any(axis=0).mean()) if len(found) else 0.0
        far = int((~near.any(axis=1)).sum()) if len(found) else 0
        scores.append(ContinuousScore(phase, float(tolerance_s), len(true), recall, far))
    return scores
