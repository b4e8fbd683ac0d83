"""Picking speed on 24 h of 3-component 100 Hz data: our picker vs SeisBench PhaseNet.annotate.

    .venv/bin/python bench/bench_picking_speed.py [--hours 24] [--overlap 0.5] [--rounds 3]
        [--batch-size 256] [--model trained.keras] [--bench-python .venv-bench/bin/python]
        [--out result.json]

SeisBench's environment, once (pip takes the local CPU wheel of torch 2.13.0 on this machine):

    python3 -m venv .venv-bench && .venv-bench/bin/pip install torch==2.13.0 seisbench

One invocation runs both sides on the same samples (a synthetic record of events back to back,
core.seismic.continuous, saved once as .npy):
  * ours, in this process (.venv, TensorFlow): core.seismic.picking.Picker.pick on the whole
    record (sliding windows, batched predictions, edge-weighted stitching, peak picking), with
    PhaseNet at its default size (filters 8, 11, 16, 22, 32, as the paper) and at SeisBench's
    size (filters 8, 16, 32, 64, 128), untrained (speed does not depend on the weights);
  * SeisBench, in its own environment (.venv-bench: seisbench and CPU torch 2.13.0), started as
    a subprocess of this script: seisbench.models.PhaseNet() without pretrained weights,
    `classify(stream)` (annotate + picks) on an obspy Stream of the same data.
Both use 3001-sample windows with the same overlap (SeisBench's `overlap` in samples = ours as a
fraction), the same batch size, thresholds 0.3, and every core. Each side first runs once on 10
minutes (warm-up: graph tracing, lazy allocations), then on the full record, timed. Reported:
wall seconds, CPU seconds of the process (the machine may be shared), windows per second, and
the forward pass alone per window; `--rounds` rounds in alternating order, medians reported.
Headline: ratio of SeisBench's to our wall time (target >= 1.5) for the default-size model, and
the same-size comparison beside it. `--model` times a trained picker of ours instead of an
untrained one (an untrained softmax hovers near 1/3, so it "picks" every min-distance).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WINDOW = 3001
DEFAULT_SIZE = (8, 11, 16, 22, 32)
SEISBENCH_SIZE = (8, 16, 32, 64, 128)
TARGET = 1.5


def seisbench_worker(npy: str, overlap: int, batch_size: int) -> dict:
    """Runs under the bench venv: time SeisBench PhaseNet classify on the saved record."""
    import numpy as np
    import obspy
    import seisbench
    import seisbench.models as sbm
    import torch

    data = np.load(npy)
    start = obspy.UTCDateTime("2024-01-01T00:00:00")

    def stream(x):
        return obspy.Stream(
            [
                obspy.Trace(
                    np.ascontiguousarray(x[:, c]),
                    {
                        "network": "SY",
                        "station": "SYN",
                        "channel": f"HH{comp}",
                        "sampling_rate": 100.0,
                        "starttime": start,
                    },
                )
                for c, comp in enumerate("ENZ")
            ]
        )

    model = sbm.PhaseNet()  # random weights: no download
    model.eval()
    args = {"overlap": overlap, "batch_size": batch_size, "P_threshold": 0.3, "S_threshold": 0.3}
    model.classify(stream(data[:60_000]), **args)  # warm-up
    wall, cpu = time.perf_counter(), time.process_time()
    out = model.classify(stream(data), **args)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    with torch.no_grad():
        x = torch.randn(batch_size, 3, WINDOW)
        model(x)
        t = time.perf_counter()
        model(x)
        forward_ms = (time.perf_counter() - t) / batch_size * 1000
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "picks": len(out.picks),
        "forward_ms_per_window": forward_ms,
        "params": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "seisbench": seisbench.__version__,
        "threads": torch.get_num_threads(),
    }


class OurPicker:
    """Our picker with a PhaseNet of the given filters (or a saved model), warmed up once."""

    def __init__(self, filters, overlap: float, batch_size: int, model_path=None):
        import keras

        from core.models.zoo.phasenet import PhaseNetSettings, build_phasenet
        from core.seismic.picking import Picker, PickOptions

        if model_path:
            model = keras.models.load_model(model_path, safe_mode=True, compile=False)
        else:
            model = build_phasenet((WINDOW, 3), 3, PhaseNetSettings(filters=tuple(filters)))
        levels = [layer for layer in model.layers if re.fullmatch(r"down\d+_conv", layer.name)]
        self.filters = [int(layer.filters) for layer in levels]
        self.trained = bool(model_path)
        self.params = int(model.count_params())
        self.picker = Picker(model, {"sampling_rate": 100.0, "task": "picking"})
        self.options = PickOptions(overlap=overlap, batch_size=batch_size)
        self.batch_size = batch_size

    def run(self, data) -> dict:
        import numpy as np

        self.picker.pick(data[:60_000], 100.0, 0.0, self.options)  # warm-up
        wall, cpu = time.perf_counter(), time.process_time()
        result = self.picker.pick(data, 100.0, 0.0, self.options)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        x = np.random.default_rng(0).normal(size=(self.batch_size, WINDOW, 3)).astype(np.float32)
        t = time.perf_counter()
        self.picker.predict(x)
        forward_ms = (time.perf_counter() - t) / self.batch_size * 1000
        return {
            "filters": self.filters,
            "trained": self.trained,
            "wall_s": wall,
            "cpu_s": cpu,
            "windows": result.windows,
            "picks": len(result.picks),
            "forward_ms_per_window": forward_ms,
            "params": self.params,
        }


def run_seisbench(python: str, npy: Path, overlap_samples: int, batch_size: int) -> dict:
    proc = subprocess.run(
        [python, __file__, "--seisbench-worker", str(npy), str(overlap_samples), str(batch_size)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        print(proc.stderr[-3000:], file=sys.stderr)
        raise SystemExit("the SeisBench side failed (see above)")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def machine() -> dict:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=24.0)
    parser.add_argument("--overlap", type=float, default=0.5, help="fraction of a window")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--bench-python", default=str(REPO_ROOT / ".venv-bench/bin/python"))
    parser.add_argument("--skip-seisbench", action="store_true")
    parser.add_argument("--rounds", type=int, default=3, help="median over rounds")
    parser.add_argument("--model", help="a trained .keras picker for 'ours' (default: untrained)")
    parser.add_argument("--out", type=Path)
    parser.add_argument("--seisbench-worker", nargs=3, metavar=("NPY", "OVERLAP", "BATCH"))
    args = parser.parse_args(argv)
    if args.seisbench_worker:
        npy, overlap, batch = args.seisbench_worker
        print(json.dumps(seisbench_worker(npy, int(overlap), int(batch))))
        return 0

    sys.path.insert(0, str(REPO_ROOT))
    import numpy as np
    import tensorflow as tf

    from core.seismic.continuous import synthetic_record

    began = time.perf_counter()
    record = synthetic_record(args.hours * 3600, seed=0).record
    print(
        f"synthetic record: {record.samples:,} samples in {time.perf_counter() - began:.1f} s",
        file=sys.stderr,
    )
    overlap_samples = int(round(WINDOW * args.overlap))
    result = {
        "hours": args.hours,
        "samples": record.samples,
        "window": WINDOW,
        "overlap_samples": overlap_samples,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "machine_before": machine(),
        "tensorflow": tf.__version__,
    }
    sides = {
        "ours_default": OurPicker(DEFAULT_SIZE, args.overlap, args.batch_size, args.model),
        "ours_seisbench_size": OurPicker(SEISBENCH_SIZE, args.overlap, args.batch_size),
    }
    runs = {name: [] for name in [*sides, "seisbench"]}
    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "record.npy"
        np.save(npy, record.data)
        for r in range(args.rounds):
            order = list(runs) if r % 2 == 0 else list(runs)[::-1]  # cancel drift
            for name in order:
                if name == "seisbench":
                    if args.skip_seisbench:
                        continue
                    out = run_seisbench(args.bench_python, npy, overlap_samples, args.batch_size)
                else:
                    out = sides[name].run(record.data)
                runs[name].append(out)
                print(
                    f"round {r + 1} {name}: {out['wall_s']:.1f} s wall, {out['cpu_s']:.1f} s CPU",
                    file=sys.stderr,
                )
    for name, outs in runs.items():
        if outs:
            result[name] = outs[0] | {
                "wall_s": statistics.median(o["wall_s"] for o in outs),
                "cpu_s": statistics.median(o["cpu_s"] for o in outs),
                "wall_s_all": [round(o["wall_s"], 2) for o in outs],
                "cpu_s_all": [round(o["cpu_s"], 2) for o in outs],
            }
    if runs["seisbench"]:
        theirs = result["seisbench"]
        for key in sides:
            result[f"ratio_{key}"] = theirs["wall_s"] / result[key]["wall_s"]
            result[f"cpu_ratio_{key}"] = theirs["cpu_s"] / result[key]["cpu_s"]
        result["target_met"] = result["ratio_ours_default"] >= TARGET
    result["machine_after"] = machine()
    text = json.dumps(result, indent=2)
    print(text)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
