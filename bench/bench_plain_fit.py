"""A run started like the dashboard does vs the plain `model.fit` script a user would write, and
the tf.data settings of our pipeline (issue 10's training-speed check; target: ratio >= 1.0).

    .venv/bin/python bench/bench_plain_fit.py [--dataset digits --model cnn --epochs 6]
        [--rounds 5] [--variants data_no_cache,data_parallel_batch,...] [--json-out F]

Arms, one after the other (never two at once), their order rotating every round:
  * plain:    bench/bare_fit.py --plain: same model, optimizer, data and batch size, NumPy arrays
              straight into model.fit with Keras defaults;
  * launcher: core.runs.launcher.launch, the path of the Train page's button (a worker process,
              the store, checkpoints, live metrics);
  * launcher[V]: the launcher with one tf.data setting V changed inside the worker
              (bench/patches/sitecustomize.py; core/ is not edited).
Throughput is training examples per second over epochs 2..N (bench_throughput.steady_throughput);
ratios are arm / plain per round, wall clock and CPU time of the training process side by side;
the headline is the median over rounds.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_throughput import machine, ratios, run_bare, run_launcher  # noqa: E402
from core.config import RunConfig  # noqa: E402

DETAIL_KEYS = ("examples_per_s", "examples_per_cpu_s", "epoch_seconds", "loadavg_at_start")
DEFAULT_VARIANTS = "data_no_cache,data_no_prefetch,data_parallel_batch,data_nondeterministic"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="digits")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", default=DEFAULT_VARIANTS, help="comma separated; '' = none")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)
    config = RunConfig(
        dataset=args.dataset,
        model=args.model,
        batch_size=args.batch_size,
        epochs=args.epochs,
        name="bench-plain-fit",
    )
    variants = [v for v in args.variants.split(",") if v]
    arms = ["plain", "launcher"] + [f"launcher[{v}]" for v in variants]
    rounds = []
    with tempfile.TemporaryDirectory(prefix="tflab-bench-plain-") as tmp:
        for i in range(args.rounds):
            order = arms[i % len(arms) :] + arms[: i % len(arms)]
            results = {}
            for arm in order:
                if arm == "plain":
                    results[arm] = run_bare(config, plain=True)
                else:
                    results[arm] = run_launcher(config, Path(tmp), arm[len("launcher[") : -1])
                r = results[arm]
                print(
                    f"round {i + 1} {arm}: {r['examples_per_s']:.1f} ex/s,"
                    f" {r['examples_per_cpu_s']:.1f} ex/CPU-s, epochs {r['epoch_seconds']} s,"
                    f" load {r['loadavg_at_start'][0]}",
                    flush=True,
                )
            rounds.append({arm: ratios(results["plain"], results[arm]) for arm in arms[1:]})
            rounds[-1]["plain_examples_per_s"] = results["plain"]["examples_per_s"]
            rounds[-1]["detail"] = {  # per arm: where a slow round lost its time
                arm: {k: r.get(k) for k in DETAIL_KEYS} for arm, r in results.items()
            }
    summary = {
        "benchmark": "plain_fit",
        "config": vars(args) | {"json_out": None},
        "machine": machine(),
        "arms": {
            arm: {
                key: statistics.median(r[arm][key] for r in rounds)
                for key in ("ratio", "best_epoch_ratio", "cpu_ratio")
            }
            for arm in arms[1:]
        },
        "rounds": rounds,
    }
    print(json.dumps(summary, indent=2, default=str))
    print("\n| arm | wall ratio vs plain (median) | best epoch | CPU-time ratio | rounds (wall) |")
    print("|---|---:|---:|---:|---|")
    for arm, med in summary["arms"].items():
        each = " / ".join(f"{r[arm]['ratio']:.2f}" for r in rounds)
        print(
            f"| {arm} | {med['ratio']:.3f} | {med['best_epoch_ratio']:.3f} |"
            f" {med['cpu_ratio']:.3f} | {each} |"
        )
    if args.json_out:
        args.json_out.write_text(json.dumps(summary, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
