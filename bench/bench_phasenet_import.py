"""The imported published PhaseNet on the 103 real NCEDC windows: fidelity and pick quality.

    .venv/bin/python bench/bench_phasenet_import.py [--out result.json]

1. `python -m core import-phasenet ../shared/models/phasenet-2019 --json` into a temporary runs
   folder (the product path, as a user runs it), timed.
2. Fidelity: the saved run's model (Keras safe mode, as Predict loads it) on the README's input
   (data[1500:4500] raw counts; the model normalises) against reference_probabilities.npz.
3. Quality: each 90 s window picked as continuous data (core.seismic.picking: 3000-sample
   windows, overlap 0.5, min distance 0.5 s) and scored by core.seismic.evaluation at 0.1 s and
   0.5 s, thresholds 0.3 (the default of pick/evaluate) and 0.5, on all 103 windows and on the
   31 validation + test windows (the ones a fine-tuned run never sees). Also `python -m core
   evaluate --split S --dataset phasenet:ncedc-sample` for the three splits, summed, to show
   the command gives the same counts.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

CHECKPOINT = REPO_ROOT.parent / "shared" / "models" / "phasenet-2019"
DATASET = "phasenet:ncedc-sample"


def cli(args: list[str], env: dict) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "core", *args],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout)


def fidelity(picker) -> float:
    import numpy as np

    from core.seismic.sources import SAMPLE_FOLDER

    ref = np.load(CHECKPOINT / "reference_probabilities.npz")
    names = sorted(ref.files)
    x = np.stack([np.load(SAMPLE_FOLDER / n)["data"][1500:4500] for n in names]).astype("float32")
    probs = np.concatenate([picker.predict(x[i : i + 32]) for i in range(0, len(x), 32)])
    return float(np.abs(probs - np.stack([ref[n] for n in names])).max())


def scores(picker, windows, threshold: float) -> dict:
    from core.seismic.evaluation import evaluate_windows
    from core.seismic.picking import PickOptions

    options = PickOptions(p_threshold=threshold, s_threshold=threshold)
    report = evaluate_windows(picker.predict, windows, picker.window, options, (0.1, 0.5))
    return {
        f"{s.phase}@{s.tolerance_s:g}": {
            "precision": round(s.precision, 3),
            "recall": round(s.recall, 3),
            "f1": round(s.f1, 3),
            "tp": s.tp,
            "fp": s.fp,
            "fn": s.fn,
        }
        for s in report.scores
    } | {"seconds": round(report.seconds, 2)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    from core.seismic.picking import Picker
    from core.seismic.sources import load_waveform_dataset
    from core.tasks.picking import LabelledWindows

    result = {}
    with tempfile.TemporaryDirectory() as runs:
        env = {**os.environ, "TFLAB_RUNS_DIR": runs, "TF_CPP_MIN_LOG_LEVEL": "2"}
        began = time.perf_counter()
        run_id = cli(["import-phasenet", str(CHECKPOINT), "--json"], env)["id"]
        result["import_seconds"] = round(time.perf_counter() - began, 1)
        picker = Picker.from_run(Path(runs) / run_id)
        result["max_abs_diff_vs_reference"] = fidelity(picker)
        data = load_waveform_dataset(DATASET)
        sets = {
            "all 103": LabelledWindows.of([data.train, data.val, data.test]),
            "validation + test 31": LabelledWindows.of([data.val, data.test]),
        }
        for label, windows in sets.items():
            for threshold in (0.3, 0.5):
                result[f"{label} @ threshold {threshold}"] = scores(picker, windows, threshold)
        summed = {}
        for split in ("train", "validation", "test"):
            report = cli(["evaluate", "--run", run_id, "--dataset", DATASET, "--split", split,
                          "--json"], env)  # fmt: skip
            for s in report["scores"]:
                key = f"{s['phase']}@{s['tolerance_s']:g}"
                counts = summed.setdefault(key, {"tp": 0, "fp": 0, "fn": 0})
                for k in counts:
                    counts[k] += s[k]
        for counts in summed.values():
            counts["f1"] = round(
                2 * counts["tp"] / (2 * counts["tp"] + counts["fp"] + counts["fn"]), 3
            )
        result["cli evaluate, 3 splits summed @ threshold 0.3"] = summed
    print(json.dumps(result, indent=2))
    if args.out:
        args.out.write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
