"""Training throughput through the launcher vs a bare `model.fit` of the same run (target >= 0.95).

    .venv/bin/python bench/bench_throughput.py [--dataset shapes --epochs 6 --rounds 3]
        [--variant held_connection ...]

Each round trains the same RunConfig once per arm, one run after the other, never two at once:
  * bare:     bench/bare_fit.py in its own process (same model, data, pipeline, optimizer, loss,
              metrics and validation data as core.runs.training; only an epoch-end clock callback);
  * launcher: core.runs.launcher.launch into a temporary runs folder; epoch ends are read back from
              the store's epoch_metrics wall_time;
  * launcher[PATCHES] (one per --variant): the same, with experiments from
              bench/patches/sitecustomize.py applied inside the worker (core/ is not edited).
Throughput is training examples per second over epochs 2..N (from the end of epoch 1 to the end
of epoch N), which leaves out process start-up, the TensorFlow import and first-epoch tracing.
The ratio is launcher / bare per round; the headline is the median over rounds. The order of
the arms rotates between rounds to cancel drift on a shared machine. Two noise-resistant views
are reported beside it: the best single epoch of each run, and examples per CPU-second of the
training process (sampled from /proc every 10 ms). Prints a JSON summary, then markdown
tables. Temporary folders are removed.
"""

from __future__ import annotations

import argparse
import bisect
import hashlib
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from core.config import RunConfig  # noqa: E402
from core.runs import launcher  # noqa: E402

TARGET = 0.95
PATCHES_DIR = REPO_ROOT / "bench" / "patches"
NOISY_CV = 0.05  # bare-vs-bare variation above which the wall ratio is called unresolved
RUN_TIMEOUT_S = 600.0


def child_env() -> dict:
    """The environment the launcher gives its workers, so both sides see the same settings."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return env


class CpuSampler(threading.Thread):
    """Samples a process' CPU time (user + system, all threads) every `every_s` from /proc.

    Wall time on a shared machine includes waiting for other people's work; CPU time per
    example mostly does not, so it is reported beside the wall-clock numbers.
    """

    def __init__(self, pid: int, every_s: float = 0.01):
        super().__init__(daemon=True)
        self.pid = pid
        self.every_s = every_s
        self.samples: list[tuple[float, float]] = []  # (time.time(), cpu seconds)
        self._done = threading.Event()
        self._tick = os.sysconf("SC_CLK_TCK")

    def run(self) -> None:
        path = f"/proc/{self.pid}/stat"
        while not self._done.is_set():
            try:
                with open(path) as f:
                    fields = f.read().rsplit(")", 1)[1].split()
            except (FileNotFoundError, ProcessLookupError, IndexError):
                return  # the process ended
            # fields[0] is field 3 (state) of proc(5): utime is field 14, stime field 15
            self.samples.append((time.time(), (int(fields[11]) + int(fields[12])) / self._tick))
            self._done.wait(self.every_s)

    def stop(self) -> None:
        self._done.set()
        self.join(timeout=5)

    def cpu_at(self, t: float) -> float:
        """CPU seconds used by time t, interpolated between the samples around it."""
        samples = self.samples
        if not samples or t < samples[0][0] or t > samples[-1][0]:
            raise RuntimeError("CPU samples do not cover the measured epochs")
        i = bisect.bisect_left(samples, (t, -1.0))
        if samples[i][0] == t or i == 0:
            return samples[i][1]
        (t0, c0), (t1, c1) = samples[i - 1], samples[i]
        return c0 + (c1 - c0) * (t - t0) / (t1 - t0)


def steady_throughput(epoch_ends: list[float], examples: int, cpu: CpuSampler) -> dict:
    """Examples/s from the end of epoch 1 to the end of the last epoch, by wall and CPU time.

    Also the fastest single epoch: interference from other processes only ever adds time, so
    the best epoch is a second, noise-resistant view of the same comparison.
    """
    if len(epoch_ends) < 2:
        raise RuntimeError(f"need at least 2 epochs, got {len(epoch_ends)}")
    span = epoch_ends[-1] - epoch_ends[0]
    epochs = [b - a for a, b in zip(epoch_ends[:-1], epoch_ends[1:], strict=True)]
    cpu_span = cpu.cpu_at(epoch_ends[-1]) - cpu.cpu_at(epoch_ends[0])
    return {
        "examples_per_s": (len(epoch_ends) - 1) * examples / span,
        "best_epoch_examples_per_s": examples / min(epochs),
        "examples_per_cpu_s": (len(epoch_ends) - 1) * examples / cpu_span,
        "steady_seconds": round(span, 4),
        "steady_cpu_seconds": round(cpu_span, 3),
        "epoch_seconds": [round(e, 4) for e in epochs],
    }


TRAINING_PATH = (
    "launcher.py",
    "worker.py",
    "training.py",
    "callbacks.py",
    "store.py",
    "pipeline.py",
    "models.py",
    "datasets.py",
    "config.py",
    "classification.py",
    "tasks.py",
    "trainer_model.py",
    "optimization.py",
    "devices.py",
    "model_zoo/*.py",
)


def core_fingerprint() -> str:
    """sha256 prefix of the core/ modules a training run goes through (those that exist).

    Compared before and after the benchmark: shows whether that code changed while it ran.
    """
    digest = hashlib.sha256()
    core = REPO_ROOT / "core"
    for pattern in TRAINING_PATH:
        for path in sorted(core.glob(pattern)):
            digest.update(str(path.relative_to(core)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def run_bare(config: RunConfig, plain: bool = False) -> dict:
    """Train with bench/bare_fit.py (--plain: NumPy arrays, Keras defaults) in a fresh process;
    returns its throughput."""
    t0, load = time.time(), _loadavg()
    cmd = [sys.executable, str(REPO_ROOT / "bench" / "bare_fit.py"), "--config", config.to_json()]
    cmd += ["--plain"] if plain else []
    proc = subprocess.Popen(
        cmd,
        cwd=REPO_ROOT,
        env=child_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    cpu = CpuSampler(proc.pid)
    cpu.start()
    try:
        stdout, stderr = proc.communicate(timeout=RUN_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    finally:
        cpu.stop()
    if proc.returncode != 0:
        raise RuntimeError(f"bare_fit failed ({proc.returncode}):\n{stderr[-3000:]}")
    result = json.loads(stdout.strip().splitlines()[-1])
    out = steady_throughput(result["epoch_ends"], result["train_examples"], cpu)
    out.update(
        kind="bare",
        train_examples=result["train_examples"],
        first_epoch_seconds=round(result["epoch_ends"][0] - result["train_begin"], 4),
        total_seconds=round(time.time() - t0, 3),
        loadavg_at_start=load,
    )
    return out


def run_launcher(config: RunConfig, root: Path, patches: str = "") -> dict:
    """Train through core.runs.launcher.launch into `root`; returns throughput from the store.

    patches: experiments from bench/patches/sitecustomize.py to apply inside the worker
    (comma separated); core/ itself is not changed.
    """
    t0, load = time.time(), _loadavg()
    saved = {k: os.environ.get(k) for k in ("PYTHONPATH", "TFLAB_BENCH_PATCHES")}
    if patches:  # launch() hands a copy of this environment to the worker it starts
        os.environ["PYTHONPATH"] = os.pathsep.join(
            filter(None, [str(PATCHES_DIR), saved["PYTHONPATH"]])
        )
        os.environ["TFLAB_BENCH_PATCHES"] = patches
    try:
        out = _run_launcher(config, root)
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    out.update(
        kind=f"launcher[{patches}]" if patches else "launcher",
        loadavg_at_start=load,
        total_seconds=round(time.time() - t0, 3),
    )
    return out


def _run_launcher(config: RunConfig, root: Path) -> dict:
    run_id = launcher.launch(config, root)
    store = launcher.open_store(root)
    run = store.get_run(run_id)
    cpu = CpuSampler(run.pid)  # launch() records the worker's pid before it returns
    cpu.start()
    deadline = time.monotonic() + RUN_TIMEOUT_S
    try:
        while run.is_active and time.monotonic() < deadline:
            time.sleep(0.5)  # rare polls: the benchmark must not compete with training for CPU
            store.mark_lost_runs()
            run = store.get_run(run_id)
    finally:
        cpu.stop()
        if run.is_active:
            _kill(run.pid)
    if run.is_active:
        raise RuntimeError(f"launcher run {run_id} still {run.status} after {RUN_TIMEOUT_S} s")
    if run.status != "succeeded":
        log = (root / run_id / "worker.log").read_text(errors="replace")[-3000:]
        raise RuntimeError(f"launcher run {run_id} {run.status}: {run.error}\n{log}")
    epochs = store.epoch_metrics(run_id)
    env = json.loads((root / run_id / "environment.json").read_text())
    examples = int(env["train_examples"])
    ends = [row["wall_time"] for row in epochs]
    out = steady_throughput(ends, examples, cpu)
    out.update(
        kind="launcher",
        run_id=run_id,
        train_examples=examples,
        first_epoch_seconds=round(ends[0] - run.started, 4),  # includes TF import and setup
    )
    return out


def _loadavg() -> list[float]:
    """1/5/15-minute load averages: above the core count means other work shared the CPUs."""
    return [round(v, 2) for v in os.getloadavg()]


def _kill(pid: int | None) -> None:
    """End a worker this benchmark started (its own session), by its process group id."""
    if not pid:
        return
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def machine() -> dict:
    import platform

    info = {"python": platform.python_version(), "cpus": os.cpu_count()}
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                info["cpu"] = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import importlib.metadata as md

        info["tensorflow"] = md.version("tensorflow-cpu")
    except Exception:  # noqa: BLE001 - informational only
        pass
    return info


def markdown(summary: dict) -> str:
    lines = [
        "| round | order | bare ex/s | launcher ex/s | wall ratio | best-epoch ratio "
        "| CPU-time ratio | load avg (bare / launcher) |",
        "|---|---|---:|---:|---:|---:|---:|---|",
    ]
    for r in summary["rounds"]:
        lines.append(
            f"| {r['round']} | {r['order']} | {r['bare']['examples_per_s']:.1f} | "
            f"{r['launcher']['examples_per_s']:.1f} | {r['ratio']:.3f} | "
            f"{r['best_epoch_ratio']:.3f} | {r['cpu_ratio']:.3f} | "
            f"{r['bare']['loadavg_at_start'][0]:.1f} / {r['launcher']['loadavg_at_start'][0]:.1f} |"
        )
    verdict = ("PASS" if summary["passed"] else "FAIL") + ("" if summary["resolved"] else ", noisy")
    lines.append(
        f"| **median** | | {summary['median_bare_examples_per_s']:.1f} | "
        f"{summary['median_launcher_examples_per_s']:.1f} | "
        f"**{summary['median_ratio']:.3f}** ({verdict}, target >= {TARGET}) | "
        f"{summary['median_best_epoch_ratio']:.3f} | {summary['median_cpu_ratio']:.3f} | |"
    )
    if summary["variants"]:
        lines += [
            "",
            "| round | arm | ex/s | wall ratio | best-epoch ratio | CPU-time ratio |",
            "|---|---|---:|---:|---:|---:|",
        ]
        names = {arm: f"v{i}" for i, arm in enumerate(summary["variants"], start=1)}
        for r in summary["rounds"]:
            for arm, v in r["variants"].items():
                lines.append(
                    f"| {r['round']} | {names[arm]} | {r[arm]['examples_per_s']:.1f} | "
                    f"{v['ratio']:.3f} | {v['best_epoch_ratio']:.3f} | {v['cpu_ratio']:.3f} |"
                )
        for arm, v in summary["variants"].items():
            lines.append(
                f"| **median** | {names[arm]} = {arm} | | **{v['median_ratio']:.3f}** | "
                f"{v['median_best_epoch_ratio']:.3f} | {v['median_cpu_ratio']:.3f} |"
            )
    noise = summary["noise"]
    lines += [
        "",
        f"Load average (1 min) over the runs: {summary['loadavg_range']} on "
        f"{summary['machine'].get('cpus')} CPUs. Round-to-round variation: bare "
        f"{100 * noise['bare_cv']:.0f} %, launcher {100 * noise['launcher_cv']:.0f} % "
        f"(coefficient of variation); wall ratios span {noise['ratio_spread']:.2f}.",
    ]
    if not summary["resolved"]:
        lines.append(
            f"NOTE: the bare runs alone vary by more than {100 * NOISY_CV:.0f} %, so the wall "
            "ratio cannot resolve a 5 % overhead on this machine right now; see the CPU-time "
            "ratio and bench/profile_overhead.py."
        )
    if summary["core_changed_during_run"]:
        lines.append("")
        lines.append(
            "WARNING: core/ training code changed while the benchmark ran; "
            "rounds may not be comparable."
        )
    return "\n".join(lines)


def ratios(bare: dict, other: dict) -> dict:
    """other / bare for each throughput measure (above 1: `other` is faster)."""
    return {
        "ratio": other["examples_per_s"] / bare["examples_per_s"],
        "best_epoch_ratio": other["best_epoch_examples_per_s"] / bare["best_epoch_examples_per_s"],
        "cpu_ratio": other["examples_per_cpu_s"] / bare["examples_per_cpu_s"],
    }


def make_config(args) -> RunConfig:
    return RunConfig(
        dataset=args.dataset,
        model=args.model,
        batch_size=args.batch_size,
        epochs=args.epochs,
        name="bench-throughput",
    )


def add_workload_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--dataset", default="shapes")
    parser.add_argument("--model", default="cnn")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--json-out", type=Path, help="also write the JSON summary here")
    parser.add_argument(
        "--variant",
        action="append",
        default=[],
        metavar="PATCHES",
        help="add a launcher arm per round with these bench/patches/sitecustomize.py "
        "experiments applied in the worker (comma separated; repeatable), e.g. held_connection",
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    add_workload_args(parser)
    args = parser.parse_args(argv)
    if args.epochs < 3:
        parser.error("--epochs must be at least 3 (epoch 1 is excluded)")

    config = make_config(args)
    fingerprint_before = core_fingerprint()
    rounds = []
    with tempfile.TemporaryDirectory(prefix="tflab-bench-runs-") as tmp:
        root = Path(tmp)
        os.environ["TFLAB_RUNS_DIR"] = str(root)  # nothing may touch the real runs folder
        arms = ["bare", "launcher"] + [f"launcher[{v}]" for v in args.variant]
        for i in range(args.rounds):
            shift = i % len(arms)
            order = arms[shift:] + arms[:shift]  # rotate who goes first, against drift
            results = {}
            for arm in order:
                if arm == "bare":
                    results[arm] = run_bare(config)
                else:
                    results[arm] = run_launcher(config, root, arm[len("launcher[") : -1])
                _progress(f"round {i + 1}", results[arm])
            rounds.append(
                {
                    "round": i + 1,
                    "order": " > ".join(_short(arm, arms) for arm in order),
                    **results,
                    **ratios(results["bare"], results["launcher"]),
                    "variants": {arm: ratios(results["bare"], results[arm]) for arm in arms[2:]},
                }
            )

    fingerprint_after = core_fingerprint()
    summary = {
        "benchmark": "throughput",
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "config": {
            "dataset": args.dataset,
            "model": args.model,
            "batch_size": args.batch_size,
            "epochs": args.epochs,
            "train_examples": rounds[0]["bare"]["train_examples"],
            "measured_epochs": f"2..{args.epochs}",
        },
        "machine": machine(),
        "target_ratio": TARGET,
        "median_ratio": _median(rounds, "ratio"),
        "min_ratio": min(r["ratio"] for r in rounds),
        "max_ratio": max(r["ratio"] for r in rounds),
        "median_best_epoch_ratio": _median(rounds, "best_epoch_ratio"),
        "median_cpu_ratio": _median(rounds, "cpu_ratio"),
        "median_bare_examples_per_s": statistics.median(
            r["bare"]["examples_per_s"] for r in rounds
        ),
        "median_launcher_examples_per_s": statistics.median(
            r["launcher"]["examples_per_s"] for r in rounds
        ),
        "passed": _median(rounds, "ratio") >= TARGET,
        "resolved": _cv([r["bare"]["examples_per_s"] for r in rounds]) <= NOISY_CV,
        "noise": {
            "bare_cv": _cv([r["bare"]["examples_per_s"] for r in rounds]),
            "launcher_cv": _cv([r["launcher"]["examples_per_s"] for r in rounds]),
            "ratio_spread": max(r["ratio"] for r in rounds) - min(r["ratio"] for r in rounds),
        },
        "loadavg_range": _load_range(rounds, ["bare", "launcher", *rounds[0]["variants"]]),
        "variants": {
            arm: {
                "median_ratio": statistics.median(r["variants"][arm]["ratio"] for r in rounds),
                "median_best_epoch_ratio": statistics.median(
                    r["variants"][arm]["best_epoch_ratio"] for r in rounds
                ),
                "median_cpu_ratio": statistics.median(
                    r["variants"][arm]["cpu_ratio"] for r in rounds
                ),
            }
            for arm in rounds[0]["variants"]
        },
        "core_fingerprint": fingerprint_before,
        "git": git_state(),
        "core_changed_during_run": fingerprint_after != fingerprint_before,
        "rounds": rounds,
    }
    text = json.dumps(summary, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text + "\n")
    print()
    print(markdown(summary))
    return 0


def _cv(values: list[float]) -> float:
    """Coefficient of variation (stdev / mean); 0 for a single value."""
    return statistics.stdev(values) / statistics.fmean(values) if len(values) > 1 else 0.0


def _load_range(rounds: list[dict], arms: list[str]) -> str:
    loads = [r[arm]["loadavg_at_start"][0] for r in rounds for arm in arms]
    return f"{min(loads):.1f}..{max(loads):.1f}"


def _short(arm: str, arms: list[str]) -> str:
    """bare, launcher, or v1, v2... for the variant arms (in --variant order)."""
    return arm if arm in ("bare", "launcher") else f"v{arms.index(arm) - 1}"


def git_state() -> dict:
    """HEAD commit and uncommitted files under core/, to tie numbers to a code version."""

    def git(*args: str) -> str:
        try:
            return subprocess.run(
                ["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            return ""

    return {
        "head": git("rev-parse", "--short", "HEAD"),
        "core_uncommitted": git("status", "--porcelain", "--", "core").splitlines(),
    }


def _median(rounds: list[dict], key: str) -> float:
    return statistics.median(r[key] for r in rounds)


def _progress(label: str, result: dict) -> None:
    print(
        f"{label} {result['kind']}: {result['examples_per_s']:.1f} ex/s, "
        f"{result['examples_per_cpu_s']:.1f} ex/CPU-s, epochs {result['epoch_seconds']}, "
        f"load {result['loadavg_at_start'][0]}",
        file=sys.stderr,
        flush=True,
    )


if __name__ == "__main__":
    raise SystemExit(main())
