"""Device settings on this machine: 1 vs 2 logical replicas, mixed precision, XLA (CPU here).

    .venv/bin/python bench/bench_devices.py [--rounds 5] [--epochs 3]

Each configuration trains the same deterministic CNN on the built-in digits (no augmentation
layers, so XLA can compile it) through core.runs.training.train_run in a fresh process
(tests.core.runs.device_run_probe), rounds alternating between configurations. Throughput is
the steady-state batches/s after the first epoch (which holds tracing and compilation), from
the batch wall times in the run store; the median over rounds, and the ratio to the plain
configuration of the same round. CPU seconds of each process (user + sys, all of it) beside.
On a CPU, two logical replicas and mixed precision cost time: they show overhead, not speed-up.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MODEL = {
    "filters": [16, 32],
    "dense_units": 32,
    "batch_norm": False,
    "translation": 0,
    "rotation": 0,
    "zoom": 0,
    "dropout": 0,
}
CONFIGS = {
    "plain (1 device, float32, XLA off)": {"jit_compile": False},
    "2 logical CPU replicas": {"jit_compile": False, "cpu_replicas": 2},
    "mixed_bfloat16": {"jit_compile": False, "mixed_precision": "mixed_bfloat16"},
    "mixed_float16": {"jit_compile": False, "mixed_precision": "mixed_float16"},
    "XLA on (jit_compile=True)": {"jit_compile": True},
}


def one_run(
    devices: dict, epochs: int, out: Path, model: str = "cnn", settings: dict | None = None
) -> tuple[float, float]:
    """(steady batches/s, CPU seconds of the process) of one fresh-process run."""
    config = {
        "dataset": "digits",
        "model": model,
        "epochs": epochs,
        "batch_size": 64,
        "model_settings": MODEL if settings is None else settings,
        "devices": devices,
    }
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(
        [sys.executable, "-m", "tests.core.runs.device_run_probe", json.dumps(config), str(out)],
        cwd=REPO,
        env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES=""),
        capture_output=True,
        text=True,
        timeout=900,
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    if result["error"]:
        raise SystemExit(result["error"])
    db = sqlite3.connect(out / "runs.sqlite")
    rows = db.execute("SELECT wall_time FROM batch_metrics WHERE epoch >= 1 ORDER BY global_step")
    times = [r[0] for r in rows.fetchall()]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return (len(times) - 1) / (times[-1] - times[0]), cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument(
        "--xla-models", default="", help="e.g. mlp,lenet5: XLA off vs on, default settings"
    )
    args = parser.parse_args()
    if args.xla_models:
        xla_per_model(args.xla_models.split(","), args.rounds, args.epochs)
        return
    rates: dict[str, list[float]] = {k: [] for k in CONFIGS}
    ratios: dict[str, list[float]] = {k: [] for k in CONFIGS}
    cpus: dict[str, list[float]] = {k: [] for k in CONFIGS}
    started = time.time()
    with tempfile.TemporaryDirectory() as tmp:
        for round_ in range(args.rounds):
            order = list(CONFIGS) if round_ % 2 == 0 else list(reversed(CONFIGS))
            got = {}
            for name in order:
                rate, cpu = one_run(CONFIGS[name], args.epochs, Path(tmp) / f"{round_}-{name}")
                got[name] = rate
                rates[name].append(rate)
                cpus[name].append(cpu)
            base = got[next(iter(CONFIGS))]
            for name in CONFIGS:
                ratios[name].append(got[name] / base)
            print(f"round {round_ + 1}: " + ", ".join(f"{k}={v:.1f}/s" for k, v in got.items()))
    print(f"\n{args.rounds} rounds, {time.time() - started:.0f} s, {os.cpu_count()} cores")
    print("| configuration | batches/s (median) | vs plain (median of ratios) | CPU s per run |")
    print("|---|---|---|---|")
    for name in CONFIGS:
        print(
            f"| {name} | {statistics.median(rates[name]):.1f} | "
            f"{statistics.median(ratios[name]):.2f}x | {statistics.median(cpus[name]):.1f} |"
        )


def xla_per_model(models: list[str], rounds: int, epochs: int) -> None:
    """XLA on vs off for built-in models with their default settings (alternating order)."""
    print("| model | XLA off batches/s | XLA on batches/s | on/off (median of rounds) |")
    print("|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for model in models:
            off, on = [], []
            for round_ in range(rounds):
                arms = [False, True] if round_ % 2 == 0 else [True, False]
                for jit in arms:
                    out = Path(tmp) / f"{model}-{round_}-{jit}"
                    rate, _ = one_run({"jit_compile": jit}, epochs, out, model, settings={})
                    (on if jit else off).append(rate)
            ratio = statistics.median(b / a for a, b in zip(off, on, strict=True))
            print(
                f"| {model} | {statistics.median(off):.1f} | {statistics.median(on):.1f} | "
                f"{ratio:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()
