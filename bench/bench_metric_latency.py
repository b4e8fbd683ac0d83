"""Delay from a batch's end to its metrics being readable in the run store (target <= 0.5 s).

    .venv/bin/python bench/bench_metric_latency.py [--dataset shapes --epochs 5 --poll-ms 10]

Launches one run through core.runs.launcher into a temporary runs folder and, in this process, polls
the store every --poll-ms with RunStore.batch_metrics(after_step=last seen step). For every row
that appears, latency = time the read returned - row["wall_time"] (the worker stamps wall_time
with time.time() in StoreCallback.on_train_batch_end, so both ends use the same clock). Reading
the time after the read returns makes each value an upper bound by the read's own duration,
which is reported too. Prints a JSON summary, then a markdown table. The folder is removed.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from core.config import RunConfig  # noqa: E402
from core.runs import launcher  # noqa: E402

TARGET_S = 0.5
RUN_TIMEOUT_S = 600.0
STATUS_EVERY_S = 0.5


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))
    return ordered[int(rank) - 1]


def launch_with_patches(config: RunConfig, root: Path, patches: str) -> str:
    """launcher.launch, with bench/patches/sitecustomize.py experiments in the worker if asked."""
    if not patches:
        return launcher.launch(config, root)
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "TFLAB_BENCH_PATCHES")}
    os.environ["PYTHONPATH"] = os.pathsep.join(
        filter(None, [str(REPO_ROOT / "bench" / "patches"), saved["PYTHONPATH"]])
    )
    os.environ["TFLAB_BENCH_PATCHES"] = patches
    try:
        return launcher.launch(config, root)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def watch(root: Path, config: RunConfig, poll_s: float, patches: str = "") -> dict:
    """Launch `config` and record when each batch row becomes readable."""
    run_id = launch_with_patches(config, root, patches)
    store = launcher.open_store(root)
    seen: list[dict] = []
    read_seconds: list[float] = []
    last_step = 0
    deadline = time.monotonic() + RUN_TIMEOUT_S
    next_status = 0.0
    run = store.get_run(run_id)

    def read_new() -> float:
        nonlocal last_step
        start = time.time()
        rows = store.batch_metrics(run_id, after_step=last_step, max_points=10**9)
        now = time.time()
        read_seconds.append(now - start)
        for row in rows:
            latency = now - row["wall_time"]
            seen.append(
                {"step": row["global_step"], "epoch": row["epoch"], "latency": latency, "seen": now}
            )
            last_step = max(last_step, row["global_step"])
        return now

    try:
        while time.monotonic() < deadline:
            now = read_new()
            if now >= next_status:
                next_status = now + STATUS_EVERY_S
                store.mark_lost_runs()  # a worker that died without a status ends the wait
                run = store.get_run(run_id)
                if not run.is_active:
                    read_new()  # rows written between the last read and the status check
                    break
            time.sleep(poll_s)
        else:
            raise TimeoutError(f"run {run_id} still {run.status} after {RUN_TIMEOUT_S} s")
    finally:
        run = store.get_run(run_id)
        if run.is_active:
            _kill(run.pid)
    if run.status != "succeeded":
        log = (root / run_id / "worker.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"run {run_id} {run.status}: {run.error}\n{log}")
    steps_per_epoch = run.steps_per_epoch
    return {
        "run_id": run_id,
        "rows": seen,
        "read_seconds": read_seconds,
        "expected_rows": steps_per_epoch * config.epochs,
        "steps_per_epoch": steps_per_epoch,
    }


def summarize(result: dict, config: RunConfig, poll_s: float) -> dict:
    rows = result["rows"]
    if not rows:
        raise RuntimeError("no batch metrics were seen")
    latencies = [r["latency"] for r in rows]
    spe = result["steps_per_epoch"]
    # The last rows of an epoch are flushed by on_epoch_end, i.e. after validation ran.
    epoch_tail = [r["latency"] for r in rows if r["step"] % spe == 0]
    # Rows of one flush (one transaction) appear in the same read: the rows that became visible
    # together with an epoch's last batch are the ones written by on_epoch_end's flush.
    tail_seen = {(r["epoch"], r["seen"]) for r in rows if r["step"] % spe == 0}
    in_tail = [(r["epoch"], r["seen"]) in tail_seen for r in rows]
    rest = [r["latency"] for r, tail in zip(rows, in_tail, strict=True) if not tail]
    worst = sorted(rows, key=lambda r: r["latency"], reverse=True)[:5]
    stats = {
        "count": len(latencies),
        "expected_count": result["expected_rows"],
        "median_s": statistics.median(latencies),
        "p95_s": percentile(latencies, 95),
        "p99_s": percentile(latencies, 99),
        "max_s": max(latencies),
        "mean_s": statistics.fmean(latencies),
        "over_target": sum(v > TARGET_S for v in latencies),
        "last_batch_of_epoch_max_s": max(epoch_tail) if epoch_tail else None,
        "without_epoch_tails": {
            "rows_excluded": sum(in_tail),
            "count": len(rest),
            "median_s": statistics.median(rest) if rest else None,
            "p95_s": percentile(rest, 95) if rest else None,
            "max_s": max(rest) if rest else None,
        },
        "worst_rows": [
            {
                "step": r["step"],
                "epoch": r["epoch"],
                "step_in_epoch": (r["step"] - 1) % spe + 1,
                "latency_s": round(r["latency"], 4),
            }
            for r in worst
        ],
        "poll_interval_s": poll_s,
        "polls": len(result["read_seconds"]),
        "read_median_s": statistics.median(result["read_seconds"]),
        "read_max_s": max(result["read_seconds"]),
    }
    return {
        "benchmark": "metric_latency",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "config": {
            "dataset": config.dataset,
            "model": config.model,
            "batch_size": config.batch_size,
            "epochs": config.epochs,
            "steps_per_epoch": spe,
        },
        "machine": {"cpus": os.cpu_count(), "loadavg_at_end": list(os.getloadavg())},
        "target_s": TARGET_S,
        "passed": stats["p95_s"] <= TARGET_S,
        **stats,
    }


def markdown(summary: dict) -> str:
    ms = 1000.0
    verdict = "PASS" if summary["passed"] else "FAIL"
    rest = summary["without_epoch_tails"]
    worst = ", ".join(
        f"step {w['step_in_epoch']}/{summary['config']['steps_per_epoch']} of epoch "
        f"{w['epoch'] + 1}: {w['latency_s'] * ms:.0f} ms"
        for w in summary["worst_rows"]
    )
    return "\n".join(
        [
            "| batches seen | median | p95 | p99 | max | rows > 0.5 s "
            "| p95 <= 0.5 s | max <= 0.5 s |",
            "|---:|---:|---:|---:|---:|---:|---|---|",
            f"| {summary['count']} / {summary['expected_count']} | "
            f"{summary['median_s'] * ms:.0f} ms | {summary['p95_s'] * ms:.0f} ms | "
            f"{summary['p99_s'] * ms:.0f} ms | {summary['max_s'] * ms:.0f} ms | "
            f"{summary['over_target']} | {verdict} | "
            f"{'PASS' if summary['max_s'] <= TARGET_S else 'FAIL'} |",
            "",
            f"Worst rows: {worst}.",
            f"Without the {rest['rows_excluded']} rows that appeared with an epoch's last batch "
            "(the final flush of each epoch): "
            f"median {rest['median_s'] * ms:.0f} ms, p95 {rest['p95_s'] * ms:.0f} ms, "
            f"max {rest['max_s'] * ms:.0f} ms over {rest['count']} rows.",
        ]
    )


def _kill(pid: int | None) -> None:
    """End a worker this benchmark started (its own session), by its process group id."""
    if not pid:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--poll-ms", type=float, default=10.0)
    parser.add_argument("--json-out", type=Path, help="also write the JSON summary here")
    parser.add_argument(
        "--patches",
        default="",
        help="bench/patches/sitecustomize.py experiments to apply in the worker "
        "(comma separated), e.g. flush_epoch_tail",
    )
    args = parser.parse_args(argv)
    config = RunConfig(
        dataset=args.dataset,
        model=args.model,
        batch_size=args.batch_size,
        epochs=args.epochs,
        name="bench-metric-latency",
    )
    poll_s = args.poll_ms / 1000.0
    with tempfile.TemporaryDirectory(prefix="tflab-bench-latency-") as tmp:
        os.environ["TFLAB_RUNS_DIR"] = tmp  # nothing may touch the real runs folder
        result = watch(Path(tmp), config, poll_s, args.patches)
    summary = summarize(result, config, poll_s)
    summary["patches"] = args.patches
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print()
    print(markdown(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
