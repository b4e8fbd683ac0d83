"""Picking speed on 24 h of 3-component 100 Hz data: our picker vs SeisBench PhaseNet.classify.

    .venv/bin/python bench/bench_picking_speed.py [--hours 24] [--overlap 0.5] [--rounds 3]
        [--batch-size 256] [--model trained.keras] [--bench-python .venv-bench/bin/python]
        [--out result.json]

SeisBench's environment, once (the CPU index of download.pytorch.org is not reachable here;
plain PyPI torch works):

    python3 -m venv .venv-bench && .venv-bench/bin/pip install torch seisbench

Without it the bench says so and measures ours only. One invocation runs every side on the
same samples (a synthetic record of events back to back, core.seismic.continuous, saved once
as .npy), all at the published PhaseNet size (filters 8, 16, 32, 64, 128, kernel 7, stride 4):
  * ours_onnx: core.seismic.picking.Picker.pick (the product path: sliding windows, batched
    predictions through core.seismic.fast_inference's folded graph run by onnxruntime,
    core.seismic.onnx_inference; stitching, peak picking) with PhaseNet's published trained
    weights (../shared/models/phasenet-2019, window 3000) if present, else the same network
    untrained;
  * ours_fast: the same with the folded graph in TensorFlow (TFLAB_FAST_INFERENCE=tf);
  * ours_xla: the same with the folded graph compiled by XLA (compiled during the warm-up);
  * ours_plain: the same Picker with the plain Keras forward pass (TFLAB_FAST_INFERENCE=0);
  * seisbench, in its own environment as a subprocess: seisbench.models.PhaseNet() (the same
    network; its constructor fixes the window at 3001 samples), untrained, `classify(stream)`.
Same overlap in samples, batch size, thresholds 0.3, every core. Each side first runs once on 10
minutes (warm-up: tracing, XLA compilation), then on the full record, timed: wall seconds and
CPU seconds of the process; `--rounds` rounds in alternating order, medians reported. Also: the
largest probability difference and pick agreement of every folded side against ours_plain,
FLOPs per window (core.seismic.fast_inference.forward_flops) and the forward pass's FLOP/s
against the CPU's peak (AVX2 + FMA: 32 float32 FLOPs per cycle per core). Target: SeisBench's
time / the product default's (ours_onnx) >= 3 in CPU and in wall time. `--sides` picks a
subset of our sides (ours_plain is always run: the agreement reference).
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
WINDOW = 3001  # SeisBench PhaseNet's fixed window
CHECKPOINT = REPO_ROOT.parent / "shared" / "models" / "phasenet-2019"
TARGET = 3.0
# side -> TFLAB_FAST_INFERENCE
MODES = {"ours_onnx": "onnx", "ours_fast": "tf", "ours_xla": "xla", "ours_plain": "0"}
PRODUCT = {"onnx": "ours_onnx", "tf": "ours_fast", "xla": "ours_xla", "keras": "ours_plain"}


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
        t, c = time.perf_counter(), time.process_time()
        model(x)
        forward_ms = (time.perf_counter() - t) / batch_size * 1000
        forward_cpu_ms = (time.process_time() - c) / batch_size * 1000
    return {
        "wall_s": wall,
        "cpu_s": cpu,
        "picks": len(out.picks),
        "forward_ms_per_window": forward_ms,
        "forward_cpu_ms_per_window": forward_cpu_ms,
        "params": sum(p.numel() for p in model.parameters()),
        "torch": torch.__version__,
        "seisbench": seisbench.__version__,
        "threads": torch.get_num_threads(),
    }


def published_model(model_path=None):
    """(model, trained?): a saved picker, the published checkpoint, or the network untrained."""
    import keras

    from core.models.zoo.phasenet import (
        PUBLISHED_SETTINGS,
        PUBLISHED_WINDOW,
        PhaseNetSettings,
        build_phasenet,
    )

    if model_path:
        return keras.models.load_model(model_path, safe_mode=True, compile=False), True
    if CHECKPOINT.is_dir():
        from core.seismic.phasenet_import import build_model, read_checkpoint

        return build_model(read_checkpoint(CHECKPOINT)), True
    settings = {k: tuple(v) if isinstance(v, list) else v for k, v in PUBLISHED_SETTINGS.items()}
    return build_phasenet((PUBLISHED_WINDOW, 3), 3, PhaseNetSettings(**settings)), False


class OurPicker:
    """Our Picker with one TFLAB_FAST_INFERENCE mode, warmed up before every timed run."""

    def __init__(self, model, trained: bool, mode: str, overlap: float, batch_size: int):
        from core.seismic.fast_inference import forward_flops
        from core.seismic.picking import Picker, PickOptions

        before = os.environ.get("TFLAB_FAST_INFERENCE")
        os.environ["TFLAB_FAST_INFERENCE"] = mode
        try:
            self.picker = Picker(model, {"sampling_rate": 100.0, "task": "picking"})
        finally:
            os.environ.pop("TFLAB_FAST_INFERENCE")
            if before is not None:
                os.environ["TFLAB_FAST_INFERENCE"] = before
        levels = [layer for layer in model.layers if re.fullmatch(r"down\d+_conv", layer.name)]
        self.filters = [int(layer.filters) for layer in levels]
        self.trained, self.mode = trained, mode
        self.params = int(model.count_params())
        self.flops = forward_flops(model)
        self.options = PickOptions(overlap=overlap, batch_size=batch_size)
        self.batch_size = batch_size
        self.last = None  # the last PickingResult

    def run(self, data) -> dict:
        import numpy as np

        from core.seismic.fast_inference import MIN_BUCKET

        warm = time.perf_counter()
        self.picker.pick(data[:60_000], 100.0, 0.0, self.options)  # warm-up
        if self.picker._fast.jit:  # XLA: compile every padded batch shape the record can use
            size = MIN_BUCKET
            while size <= self.batch_size:
                self.picker.predict(np.zeros((size, self.picker.window, 3), np.float32))
                size *= 2
        warm = time.perf_counter() - warm
        wall, cpu = time.perf_counter(), time.process_time()
        result = self.picker.pick(data, 100.0, 0.0, self.options)
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        self.last = result
        x = np.random.default_rng(0).normal(size=(self.batch_size, self.picker.window, 3))
        x = x.astype(np.float32)
        self.picker.predict(x)
        t, c = time.perf_counter(), time.process_time()
        self.picker.predict(x)
        t, c = time.perf_counter() - t, time.process_time() - c
        return {
            "mode": self.mode,
            "filters": self.filters,
            "window": self.picker.window,
            "trained": self.trained,
            "lowered": self.picker._fast.lowered,
            "backend": self.picker._fast.backend,
            "warm_up_s": warm,
            "wall_s": wall,
            "cpu_s": cpu,
            "windows": result.windows,
            "picks": len(result.picks),
            "forward_ms_per_window": t / self.batch_size * 1000,
            "forward_cpu_ms_per_window": c / self.batch_size * 1000,
            "forward_gflops_per_cpu_s": self.flops * self.batch_size / c / 1e9,
            "mflop_per_window": self.flops / 1e6,
            "params": self.params,
        }


def agreement(a, b) -> dict:
    """How far two PickingResults of the same record are apart."""
    import numpy as np

    same = [(p.phase, p.sample) for p in a.picks] == [(p.phase, p.sample) for p in b.picks]
    return {
        "max_probability_difference": float(np.abs(a.probabilities - b.probabilities).max()),
        "picks_identical": same,
        "picks": [len(a.picks), len(b.picks)],
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
    flags = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = re.search(r"cpu MHz\s*:\s*([\d.]+)", flags)
    per_cycle = 32 if (" avx2" in flags and " fma" in flags) else 8  # float32 FLOPs per core
    return {
        "cpu": cpu,
        "mhz": float(mhz.group(1)) if mhz else None,
        "peak_gflops_per_core": per_cycle * float(mhz.group(1)) / 1e3 if mhz else None,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def summary(result: dict, sides: list[str], have_seisbench: bool) -> str:
    """The ratios as plain lines (printed last, after the JSON, on stderr)."""
    product = result["product_default"]
    lines = [f"--- {result['hours']:g} h, {result['rounds']} rounds, medians of per-round ratios"]
    for name in sides:
        r = result[name]
        line = (f"{name:11s} wall {r['wall_s']:6.2f} s  CPU {r['cpu_s']:6.2f} s  forward "
                f"{r['forward_cpu_ms_per_window']:.2f} ms CPU / window")  # fmt: skip
        if have_seisbench:
            line += (f"  SeisBench / ours: wall {result[f'ratio_{name}']:.2f}x, "
                     f"CPU {result[f'cpu_ratio_{name}']:.2f}x")  # fmt: skip
        lines.append(line + ("  (product default)" if name == product else ""))
    if have_seisbench:
        sb = result["seisbench"]
        lines.append(f"seisbench   wall {sb['wall_s']:6.2f} s  CPU {sb['cpu_s']:6.2f} s")
        met = "MET" if result["target_met"] else "NOT met"
        lines.append(f"target >= {TARGET:g}x in wall and CPU time for {product}: {met}")
    for name in sides:
        if name != "ours_plain":
            a = result[f"agreement_{name}_vs_plain"]
            same = "identical" if a["picks_identical"] else "DIFFERENT"
            lines.append(f"{name} vs ours_plain: picks {same} ({a['picks'][0]}), probabilities "
                         f"within {a['max_probability_difference']:.1e}")  # fmt: skip
    return "\n".join(lines)


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
    parser.add_argument("--sides", default=",".join(MODES), help="comma-separated subset of ours")
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
    have_seisbench = not args.skip_seisbench and Path(args.bench_python).exists()
    if not have_seisbench and not args.skip_seisbench:
        print(
            f"SeisBench is missing ({args.bench_python} does not exist): measuring ours only. "
            "See this file's docstring to create .venv-bench.",
            file=sys.stderr,
        )
    overlap_samples = int(round(WINDOW * args.overlap))
    model, trained = published_model(args.model)
    from core.seismic.fast_inference import DEFAULT

    wanted = {*args.sides.split(","), "ours_plain", PRODUCT[DEFAULT]}
    unknown = wanted - set(MODES)
    if unknown:
        raise SystemExit(f"unknown sides {sorted(unknown)}: choose from {', '.join(MODES)}")
    sides = {
        name: OurPicker(model, trained, mode, args.overlap, args.batch_size)
        for name, mode in MODES.items()
        if name in wanted
    }
    product = PRODUCT[DEFAULT]
    result = {
        "hours": args.hours,
        "samples": record.samples,
        "window_ours": sides[product].picker.window,
        "product_default": product,
        "window_seisbench": WINDOW,
        "overlap_samples": overlap_samples,
        "batch_size": args.batch_size,
        "rounds": args.rounds,
        "seisbench": None if have_seisbench else "missing",
        "machine_before": machine(),
        "tensorflow": tf.__version__,
    }
    runs = {name: [] for name in [*sides, *(["seisbench"] if have_seisbench else [])]}
    with tempfile.TemporaryDirectory() as tmp:
        npy = Path(tmp) / "record.npy"
        np.save(npy, record.data)
        for r in range(args.rounds):
            order = list(runs) if r % 2 == 0 else list(runs)[::-1]  # cancel drift
            for name in order:
                if name == "seisbench":
                    out = run_seisbench(args.bench_python, npy, overlap_samples, args.batch_size)
                else:
                    out = sides[name].run(record.data)
                out["load_average"] = round(os.getloadavg()[0], 1)
                runs[name].append(out)
                print(
                    f"round {r + 1} {name}: {out['wall_s']:.1f} s wall, {out['cpu_s']:.1f} s CPU"
                    f" (load {out['load_average']})",
                    file=sys.stderr,
                )
    for name, outs in runs.items():
        result[name] = outs[0] | {
            "wall_s": statistics.median(o["wall_s"] for o in outs),
            "cpu_s": statistics.median(o["cpu_s"] for o in outs),
            "wall_s_all": [round(o["wall_s"], 2) for o in outs],
            "cpu_s_all": [round(o["cpu_s"], 2) for o in outs],
            "load_all": [o["load_average"] for o in outs],
        }
    plain = sides["ours_plain"].last
    for name in sides:
        if name != "ours_plain":
            result[f"agreement_{name}_vs_plain"] = agreement(sides[name].last, plain)
    peak = result["machine_before"]["peak_gflops_per_core"]
    if peak:
        for name in sides:
            result[name]["forward_fraction_of_one_core_peak"] = (
                result[name]["forward_gflops_per_cpu_s"] / peak
            )
    if have_seisbench:
        theirs = runs["seisbench"]
        for key in sides:
            ours = runs[key]  # per-round ratios (same round: same load), then their median
            result[f"ratio_{key}"] = statistics.median(
                t["wall_s"] / o["wall_s"] for t, o in zip(theirs, ours, strict=True)
            )
            result[f"cpu_ratio_{key}"] = statistics.median(
                t["cpu_s"] / o["cpu_s"] for t, o in zip(theirs, ours, strict=True)
            )
        ratios = (result[f"ratio_{product}"], result[f"cpu_ratio_{product}"])
        result["target_met"] = min(ratios) >= TARGET
    result["machine_after"] = machine()
    text = json.dumps(result, indent=2)
    print(text)
    print(summary(result, list(sides), have_seisbench), file=sys.stderr)
    if args.out:
        args.out.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
