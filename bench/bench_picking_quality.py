"""Picking quality on real data: train on part of the NCEDC PhaseNet sample, score on the rest.

    .venv/bin/python bench/bench_picking_quality.py [--arms real,mix] [--budget-s 200]
        [--synthetic 400] [--epochs 400] [--out result.json]

Data: the 103 real windows of ../shared/data/ncedc-phasenet (90 s, 100 Hz, P at sample 3000 in
every file), split as core.seismic.sources does (seed 0): the 72 training windows train, the
15 validation + 16 test windows (31, never seen in training) are scored. Arms:
  * real: the 72 real windows only;
  * mix:  the same plus `--synthetic` windows of the built-in synthetic set.
Training goes through the task's own pieces (core.tasks.picking: random crops around the
picks every epoch, label curves, loss, tf.data adapter) with PhaseNet at its default size, Adam,
for `--epochs` or until `--budget-s` seconds of training have passed, whichever comes first.
Scoring goes through the product path: each 90 s window is picked as continuous data
(core.seismic.picking: 3001-sample windows, overlap 0.5, thresholds 0.3 (and 0.5 beside it),
min distance 0.5 s), then core.seismic.evaluation matches the picks to the catalogue arrivals:
P/S precision, recall, F1 at 0.1 s and 0.5 s, residual mean and std of matched picks. The
catalogue has one P and one S per window, so a pick on an unlisted arrival counts as false.
Also scored, as a classical reference for P: ObsPy's recursive STA/LTA (1 s / 10 s on Z,
1-20 Hz, trigger 3.0 / off 1.5), the pick at each trigger onset.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

DATASET = "phasenet:ncedc-sample"


def scored_windows():
    from core.seismic.sources import load_waveform_dataset
    from core.tasks.picking import LabelledWindows

    data = load_waveform_dataset(DATASET)
    return data, LabelledWindows.of([data.val, data.test])


def train_arm(name, data, n_synthetic, args) -> tuple[object, dict]:
    import keras
    import numpy as np

    from core.config import RunConfig
    from core.tasks.picking import (
        ExampleMaker,
        LabelledWindows,
        build_picker,
        data_settings,
        picking_loss,
        picking_metrics,
        training_dataset,
    )

    config = RunConfig(
        dataset=DATASET,
        model="phasenet",
        batch_size=args.batch_size,
        seed=args.seed,
        data_settings={"label_width": args.label_width},
    )
    keras.utils.set_random_seed(args.seed)
    settings = data_settings(config)
    sets = [data.train]
    if n_synthetic:
        from core.seismic.sources import load_waveform_dataset

        synthetic = load_waveform_dataset("synthetic").train
        sets.append(synthetic.subset(np.arange(min(n_synthetic, len(synthetic)))))
    train = LabelledWindows.of(sets)
    pipeline = None
    if args.augment:
        from core.seismic.waveform_augment import WaveformPipeline

        pipeline = WaveformPipeline.from_spec(json.loads(args.augment), pool=data.train)
    maker = ExampleMaker(train, settings, args.seed, pipeline)
    ds, callbacks = training_dataset(maker, args.batch_size, args.seed)
    model, _ = build_picker(config, settings["window"])
    model.compile(
        optimizer=keras.optimizers.Adam(args.learning_rate),
        loss=picking_loss(settings["class_weights"]),
        metrics=picking_metrics(10),
    )
    budget = Budget(args.budget_s)
    began = time.perf_counter()
    history = model.fit(ds, epochs=args.epochs, callbacks=[*callbacks, budget], verbose=0)
    seconds = time.perf_counter() - began
    logs = {k: float(v[-1]) for k, v in history.history.items()}
    print(
        f"[{name}] {len(train)} windows, {len(history.epoch)} epochs in {seconds:.0f} s: "
        + ", ".join(f"{k}={v:.3f}" for k, v in logs.items()),
        file=sys.stderr,
    )
    return model, {
        "train_windows": len(train),
        "real_windows": len(data.train),
        "synthetic_windows": len(train) - len(data.train),
        "epochs": len(history.epoch),
        "train_seconds": round(seconds, 1),
        "final_train_logs": logs,
    }


class Budget:
    """Keras callback: stop after `seconds` of training (checked at epoch ends)."""

    def __new__(cls, seconds: float):
        import keras

        class _Budget(keras.callbacks.Callback):
            def on_train_begin(self, logs=None):
                self.began = time.perf_counter()

            def on_epoch_end(self, epoch, logs=None):
                if time.perf_counter() - self.began > seconds:
                    self.model.stop_training = True

        return _Budget()


def score_model(model, windows) -> dict:
    """Scores at thresholds 0.3 (SeisBench's default, the headline) and 0.5."""
    from core.seismic.evaluation import evaluate_windows
    from core.seismic.picking import Picker, PickOptions

    picker = Picker(model, {"sampling_rate": 100.0, "task": "picking"})
    out = {}
    for threshold in (0.3, 0.5):
        options = PickOptions(p_threshold=threshold, s_threshold=threshold)
        report = evaluate_windows(picker.predict, windows, picker.window, options, dataset=DATASET)
        scores = summarise(report.scores) | {"seconds": round(report.seconds, 2)}
        out.update(scores if threshold == 0.3 else {"threshold_0.5": scores})
    return out


def summarise(scores) -> dict:
    out = {}
    for s in scores:
        key = f"{s.phase}@{s.tolerance_s:g}s"
        out[key] = {
            "precision": round(s.precision, 3),
            "recall": round(s.recall, 3),
            "f1": round(s.f1, 3),
            "tp": s.tp,
            "fp": s.fp,
            "fn": s.fn,
            "residual_mean_s": None if s.residual_mean_s is None else round(s.residual_mean_s, 4),
            "residual_std_s": None if s.residual_std_s is None else round(s.residual_std_s, 4),
        }
    return out


def sta_lta_reference(windows) -> dict:
    """ObsPy recursive STA/LTA on Z as a classical P picker, scored the same way."""
    import numpy as np
    from obspy import Trace
    from obspy.signal.trigger import recursive_sta_lta, trigger_onset

    from core.seismic.evaluation import score_phase

    rate = 100.0
    found, truth = [], []
    for i in range(len(windows)):
        w = windows.window(i)
        tr = Trace(np.asarray(w.data[:, 2], np.float64), {"sampling_rate": rate})
        tr.detrend("linear").filter("bandpass", freqmin=1.0, freqmax=20.0, zerophase=False)
        cft = recursive_sta_lta(tr.data, int(1 * rate), int(10 * rate))
        found.append([int(on) for on, _ in trigger_onset(cft, 3.0, 1.5)])
        truth.append(w.itp)
    return summarise([score_phase("P", truth, found, rate, tol) for tol in (0.1, 0.5)])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arms", default="real,mix")
    parser.add_argument("--synthetic", type=int, default=400, help="synthetic windows (mix)")
    parser.add_argument("--epochs", type=int, default=400)
    parser.add_argument("--budget-s", type=float, default=200.0, help="training seconds per arm")
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--learning-rate", type=float, default=3e-3)
    parser.add_argument("--label-width", type=float, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--augment", default="", help="core.seismic.waveform_augment spec as JSON")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--save-model", type=Path, help="save the last arm's model (.keras)")
    args = parser.parse_args(argv)
    began = time.perf_counter()
    import tensorflow as tf

    data, windows = scored_windows()
    result = {
        "dataset": DATASET,
        "scored_windows": len(windows),
        "settings": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
        "machine": {"cores": os.cpu_count(), "load_average": list(os.getloadavg())},
        "tensorflow": tf.__version__,
        "sta_lta_p": sta_lta_reference(windows),
    }
    for arm in [a.strip() for a in args.arms.split(",") if a.strip()]:
        n_synthetic = args.synthetic if arm == "mix" else 0
        model, training = train_arm(arm, data, n_synthetic, args)
        result[arm] = {"training": training, "scores": score_model(model, windows)}
        if args.save_model:
            model.save(args.save_model)
        s = result[arm]["scores"]
        print(
            f"[{arm}] P F1 {s['P@0.1s']['f1']:.3f}/{s['P@0.5s']['f1']:.3f}, "
            f"S F1 {s['S@0.1s']['f1']:.3f}/{s['S@0.5s']['f1']:.3f} (0.1 s / 0.5 s)",
            file=sys.stderr,
        )
    result["total_seconds"] = round(time.perf_counter() - began, 1)
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
