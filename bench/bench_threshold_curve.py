"""CPU time of the Predict page's precision/recall curve: peaks once per window vs per threshold.

    .venv/bin/python bench/bench_threshold_curve.py [--checkpoint DIR] [--rounds 3]

Data: the 103 windows of `phasenet:ncedc-sample` (all splits, 9001 samples at 100 Hz). They are
predicted once (core.tasks.pick_scores.window_probabilities, 3000-sample windows, overlap 0.5)
by PhaseNet at the published size, with random weights (seed 0) or with the published weights
(`--checkpoint` = the PhaseNet 2019 checkpoint folder). Then, alternating in one process, timed
with time.process_time (CPU s):
  * old: scores() at each of the 19 thresholds of GRID (find_picks + score_picks each time);
  * new: threshold_curve() (peaks found once per window and phase, kept per threshold by height).
Both curves must be equal (the script fails otherwise). Prints JSON: median CPU s of each, ratio.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

DATASET = "phasenet:ncedc-sample"


def old_curve(probs, windows, rate, tolerance_s=0.5):
    """The per-threshold computation threshold_curve replaced."""
    from core.seismic.picking import PickOptions
    from core.tasks.pick_scores import GRID, scores

    rows = []
    for t in GRID:
        got = scores(probs, windows, rate, PickOptions(p_threshold=t, s_threshold=t))
        row = {"threshold": t}
        for phase in ("p", "s"):
            for m in ("precision", "recall", "f1"):
                row[f"{phase}_{m}"] = round(got[f"val_{phase}_{m}_{tolerance_s:g}s"], 4)
        rows.append(row)
    return rows


def model(checkpoint: str | None):
    if checkpoint:
        from core.seismic.phasenet_import import build_model, read_checkpoint

        return build_model(read_checkpoint(checkpoint)), "published weights"
    import keras

    from core.models.zoo.phasenet import PUBLISHED_SETTINGS, PhaseNetSettings, build_phasenet

    keras.utils.set_random_seed(0)
    settings = PhaseNetSettings(**PUBLISHED_SETTINGS)
    return build_phasenet((3000, 3), 3, settings), "random weights (seed 0)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", default="")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from core.tasks.pick_scores import threshold_curve, window_probabilities
    from core.tasks.picker_summary import evaluation_windows

    windows, rate = evaluation_windows(DATASET, "all")
    net, weights = model(args.checkpoint)
    began = time.process_time()
    probs = window_probabilities(lambda b: net.predict_on_batch(b), windows, 3000)
    predict_s = time.process_time() - began
    times = {"old": [], "new": []}
    for _ in range(args.rounds):
        for name, fn in (("old", old_curve), ("new", threshold_curve)):
            began = time.process_time()
            curve = fn(probs, windows, rate)
            times[name].append(time.process_time() - began)
            if name == "old":
                reference = curve
            elif curve != reference:
                raise SystemExit("the curves differ")
    old, new = (statistics.median(times[k]) for k in ("old", "new"))
    print(
        json.dumps(
            {
                "windows": len(windows),
                "weights": weights,
                "predict_cpu_s": round(predict_s, 3),
                "old_cpu_s": round(old, 3),
                "new_cpu_s": round(new, 3),
                "ratio": round(old / new, 1),
                "rounds": {k: [round(t, 3) for t in v] for k, v in times.items()},
                "curves_equal": True,
            }
        )
    )


if __name__ == "__main__":
    main()
