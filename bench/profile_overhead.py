"""Where the launcher's training time goes beyond a bare `model.fit` (see bench_throughput).

    .venv/bin/python bench/profile_overhead.py [--dataset shapes --epochs 6] [--steps 200]
        [--store-repeats 100] [--no-held-connection]

Measurements that stay meaningful on a busy shared machine, because each compares costs
inside one process at the same moment instead of two runs minutes apart:

1. hooks: runs the real core.runs.training.train_run in this process (temporary runs folder) with
   keras.Model.fit wrapped so that every hook of every callback train_run passes is timed.
   Callbacks run on the training thread, so their hook time is time added to each epoch.
   Reported per callback and hook as ms per steady epoch (epochs 2..N) and % of it. Done twice:
   as is, and while one extra idle SQLite connection to the store is held open.
2. store: the store calls StoreCallback makes (add_batch_metrics, set_progress,
   stop_requested), alternately with and without another connection open.
3. step: per-batch cost of core.runs.trainer_model.GradNormTrainer (the launcher's train-step
   wrapper)
   vs the plain model's own train step: the same batches alternate between the two models with
   train_on_batch, so interference hits both alike; reports median and mean step times.

Prints a JSON summary, then markdown tables. Nothing in core/ is modified on disk.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

HOOKS = (
    "on_train_begin",
    "on_train_end",
    "on_epoch_begin",
    "on_epoch_end",
    "on_train_batch_begin",
    "on_train_batch_end",
    "on_test_begin",
    "on_test_end",
    "on_test_batch_begin",
    "on_test_batch_end",
)


class HookTimer:
    """Wraps the hooks of callback instances and adds up the wall time each one takes."""

    def __init__(self):
        self.seconds: dict[tuple[str, str], list[float]] = defaultdict(list)  # per epoch
        self.epoch = 0
        self.epoch_begin: dict[int, float] = {}
        self.epoch_end: dict[int, float] = {}

    def wrap(self, callback, label: str) -> None:
        for hook in HOOKS:
            original = getattr(callback, hook)
            setattr(callback, hook, self._timed(original, label, hook))

    def _timed(self, fn, label: str, hook: str):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                cell = self.seconds[(label, hook)]
                while len(cell) <= self.epoch:
                    cell.append(0.0)
                cell[self.epoch] += time.perf_counter() - start

        return timed

    def clocks(self):
        """Two callbacks, for the front and the back of the list: an epoch then spans every
        other callback's epoch hooks, as it does between two epoch_metrics rows of a real run."""
        import keras

        timer = self

        class EpochStart(keras.callbacks.Callback):
            def on_epoch_begin(self, epoch, logs=None):
                timer.epoch = epoch
                timer.epoch_begin[epoch] = time.perf_counter()

        class EpochEnd(keras.callbacks.Callback):
            def on_epoch_end(self, epoch, logs=None):
                timer.epoch_end[epoch] = time.perf_counter()

        return EpochStart(), EpochEnd()


def profile_hooks(config, hold_connection: bool = False) -> dict:
    """Run core.runs.training.train_run in-process with every callback hook timed.

    hold_connection: keep one extra idle SQLite connection to the store open meanwhile.
    """
    import keras

    from core.runs.store import RunStore
    from core.runs.training import train_run

    timer = HookTimer()
    original_fit = keras.Model.fit

    @functools.wraps(original_fit)
    def fit(self, *args, callbacks=None, **kwargs):
        callbacks = list(callbacks or [])
        for cb in callbacks:
            timer.wrap(cb, type(cb).__name__)
        first, last = timer.clocks()
        return original_fit(self, *args, callbacks=[first, *callbacks, last], **kwargs)

    keras.Model.fit = fit
    try:
        with tempfile.TemporaryDirectory(prefix="tflab-profile-") as tmp:
            store = RunStore(Path(tmp) / "runs.sqlite")
            run_id = store.create_run(config.to_dict(), "profile-hooks")
            run_dir = Path(tmp) / run_id
            run_dir.mkdir()
            held = sqlite3.connect(store.path) if hold_connection else None
            try:
                if held is not None:
                    held.execute("SELECT COUNT(*) FROM runs").fetchone()
                train_run(config, store, run_id, run_dir)
            finally:
                if held is not None:
                    held.close()
            steps = store.get_run(run_id).steps_per_epoch
    finally:
        keras.Model.fit = original_fit

    steady = [e for e in sorted(timer.epoch_end) if e >= 1]
    epoch_s = statistics.fmean(timer.epoch_end[e] - timer.epoch_begin[e] for e in steady)
    rows = []
    for (label, hook), per_epoch in sorted(timer.seconds.items()):
        values = [per_epoch[e] if e < len(per_epoch) else 0.0 for e in steady]
        mean = statistics.fmean(values)
        if mean <= 0:
            continue
        rows.append(
            {
                "callback": label,
                "hook": hook,
                "seconds_per_epoch": mean,
                "percent_of_epoch": 100.0 * mean / epoch_s,
                "ms_per_train_batch": 1000.0 * mean / steps if "train_batch" in hook else None,
            }
        )
    rows.sort(key=lambda r: -r["seconds_per_epoch"])
    by_callback: dict[str, float] = defaultdict(float)
    for r in rows:
        by_callback[r["callback"]] += r["seconds_per_epoch"]
    return {
        "hold_connection": hold_connection,
        "steady_epochs": [e + 1 for e in steady],
        "epoch_seconds": epoch_s,
        "steps_per_epoch": steps,
        "callbacks_percent_of_epoch": {
            k: 100.0 * v / epoch_s for k, v in sorted(by_callback.items(), key=lambda kv: -kv[1])
        },
        "hooks": rows,
    }


def profile_store(repeats: int) -> dict:
    """Time of the store calls StoreCallback makes, with and without another open connection.

    In WAL mode SQLite checkpoints the log (with fsyncs) when the last connection to a
    database closes; RunStore opens and closes a connection per call, so without any other
    connection every write pays for that. The two cases alternate call by call.
    """
    from core.runs.store import RunStore

    calls = {
        "add_batch_metrics (8 rows)": lambda st, rid, i: st.add_batch_metrics(
            rid, [(8 * i + j, 0, time.time(), {"loss": 0.5, "accuracy": 0.9}) for j in range(8)]
        ),
        "set_progress": lambda st, rid, i: st.set_progress(rid, 0, i, 66),
        "stop_requested": lambda st, rid, i: st.stop_requested(rid),
    }
    seconds = {(name, held): [] for name in calls for held in (False, True)}
    with tempfile.TemporaryDirectory(prefix="tflab-profile-store-") as tmp:
        store = RunStore(Path(tmp) / "runs.sqlite")
        run_id = store.create_run({"dataset": "bench", "model": "bench"}, "profile-store")
        for i in range(repeats):
            for held in (False, True) if i % 2 == 0 else (True, False):
                other = sqlite3.connect(store.path) if held else None
                if other is not None:
                    other.execute("SELECT COUNT(*) FROM runs").fetchone()
                for name, call in calls.items():
                    start = time.perf_counter()
                    call(store, run_id, i)
                    seconds[(name, held)].append(time.perf_counter() - start)
                if other is not None:
                    other.close()
    return {
        name: {
            "alone_median_ms": 1000 * statistics.median(seconds[(name, False)]),
            "alone_mean_ms": 1000 * statistics.fmean(seconds[(name, False)]),
            "held_median_ms": 1000 * statistics.median(seconds[(name, True)]),
            "held_mean_ms": 1000 * statistics.fmean(seconds[(name, True)]),
        }
        for name in calls
    } | {"repeats": repeats}


def profile_step(config, steps: int) -> dict:
    """Per-batch time of GradNormTrainer vs the plain model, alternating on the same batches."""
    import keras

    from core.data.pipeline import make_dataset, subsample
    from core.data.registry import load_dataset
    from core.models.registry import build_model
    from core.runs.trainer_model import GradNormTrainer

    keras.utils.set_random_seed(config.seed)
    data = load_dataset(config.dataset)
    x, y = subsample(data.x_train, data.y_train, config.max_train_examples, config.seed)
    ds = make_dataset(x, y, config.batch_size, training=True, seed=config.seed)
    batches = [(bx.numpy(), by.numpy()) for bx, by in ds]
    batches = [b for b in batches if len(b[1]) == config.batch_size]

    def compiled(wrap: bool):
        model, _ = build_model(
            config.model, data.info.input_shape, data.info.num_classes, config.model_settings
        )
        if wrap:
            model = GradNormTrainer(model)
        model.compile(
            optimizer=keras.optimizers.Adam(config.learning_rate),
            loss=keras.losses.SparseCategoricalCrossentropy(),
            metrics=["accuracy"],
        )
        return model

    models = {"plain": compiled(False), "gradnorm": compiled(True)}
    times: dict[str, list[float]] = {name: [] for name in models}
    for i in range(steps + 10):  # the first 10 alternations trace the functions: not counted
        bx, by = batches[i % len(batches)]
        order = list(models) if i % 2 == 0 else list(reversed(list(models)))
        for name in order:
            start = time.perf_counter()
            models[name].train_on_batch(bx, by)
            if i >= 10:
                times[name].append(time.perf_counter() - start)
    out = {
        name: {
            "median_ms": 1000 * statistics.median(t),
            "mean_ms": 1000 * statistics.fmean(t),
            "p10_ms": 1000 * statistics.quantiles(t, n=10)[0],
        }
        for name, t in times.items()
    }
    out["steps"] = steps
    out["median_overhead_percent"] = 100 * (
        out["gradnorm"]["median_ms"] / out["plain"]["median_ms"] - 1
    )
    out["mean_overhead_percent"] = 100 * (out["gradnorm"]["mean_ms"] / out["plain"]["mean_ms"] - 1)
    pairs = [g / p for g, p in zip(times["gradnorm"], times["plain"], strict=True)]
    out["median_paired_ratio"] = statistics.median(pairs)
    return out


def markdown(summary: dict) -> str:
    lines = []
    for key, title in (("hooks", "as is"), ("hooks_held_connection", "idle connection held")):
        hooks = summary.get(key)
        if not hooks:
            continue
        lines += [
            f"Callback hooks, {title}: steady epoch (epochs {hooks['steady_epochs'][0]}.."
            f"{hooks['steady_epochs'][-1]}) {hooks['epoch_seconds']:.3f} s, "
            f"{hooks['steps_per_epoch']} train batches",
            "",
            "| callback | hook | ms per epoch | % of epoch | ms per train batch |",
            "|---|---|---:|---:|---:|",
        ]
        for r in hooks["hooks"]:
            if r["percent_of_epoch"] < 0.05:
                continue
            per_batch = f"{r['ms_per_train_batch']:.3f}" if r["ms_per_train_batch"] else ""
            lines.append(
                f"| {r['callback']} | {r['hook']} | {1000 * r['seconds_per_epoch']:.1f} | "
                f"{r['percent_of_epoch']:.2f} % | {per_batch} |"
            )
        total = ", ".join(
            f"{name} {pct:.2f} %" for name, pct in hooks["callbacks_percent_of_epoch"].items()
        )
        share = sum(hooks["callbacks_percent_of_epoch"].values())
        lines += [
            f"\nShare of the epoch per callback: {total}; together {share:.1f} %, so the "
            f"callbacks alone put launcher/bare throughput near {1 - share / 100:.3f}.",
            "",
        ]
    store = summary.get("store")
    if store:
        lines += [
            f"Store calls ({store['repeats']} each, alternating):",
            "",
            "| call | alone: median / mean ms | other connection open: median / mean ms |",
            "|---|---:|---:|",
        ]
        for name, s in store.items():
            if name == "repeats":
                continue
            lines.append(
                f"| {name} | {s['alone_median_ms']:.2f} / {s['alone_mean_ms']:.2f} | "
                f"{s['held_median_ms']:.2f} / {s['held_mean_ms']:.2f} |"
            )
        lines.append("")
    step = summary.get("step")
    if step:
        lines += [
            "| train step | median ms | mean ms | p10 ms |",
            "|---|---:|---:|---:|",
        ]
        for name in ("plain", "gradnorm"):
            s = step[name]
            lines.append(
                f"| {name} | {s['median_ms']:.2f} | {s['mean_ms']:.2f} | {s['p10_ms']:.2f} |"
            )
        lines.append(
            f"\nGradNormTrainer step overhead: median {step['median_overhead_percent']:+.1f} %, "
            f"paired median ratio {step['median_paired_ratio']:.3f} over {step['steps']} steps"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--steps", type=int, default=200, help="alternating steps; 0 = skip")
    parser.add_argument("--store-repeats", type=int, default=100, help="0 = skip")
    parser.add_argument(
        "--no-held-connection", action="store_true", help="skip the second hook profile"
    )
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args(argv)

    from core.config import RunConfig

    config = RunConfig(
        dataset=args.dataset,
        model=args.model,
        batch_size=args.batch_size,
        epochs=args.epochs,
        name="profile-overhead",
    )
    summary = {
        "benchmark": "launcher_overhead_profile",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "config": config.to_dict(),
        "loadavg_at_start": list(os.getloadavg()),
        "hooks": profile_hooks(config),
    }
    if not args.no_held_connection:
        summary["hooks_held_connection"] = profile_hooks(config, hold_connection=True)
    if args.store_repeats > 0:
        summary["store"] = profile_store(args.store_repeats)
    if args.steps > 0:
        summary["step"] = profile_step(config, args.steps)
    summary["loadavg_at_end"] = list(os.getloadavg())
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print()
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
