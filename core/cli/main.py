"""Command line: `python -m core {datasets,models,train,runs,stop,resume,predict,users} [--json]`.

Every subcommand prints a readable table, or with --json a stable machine-readable shape.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from core import paths
from core.cli.continue_run import add_continue_commands
from core.cli.devices import add_device_commands
from core.cli.phasenet import add_phasenet_commands
from core.cli.queue import add_queue_commands
from core.cli.results import add_results_commands
from core.cli.seismic import add_seismic_commands
from core.cli.users import add_user_commands
from core.config import ConfigError, RunConfig
from core.data.decode import ImageError, decode_image
from core.data.registry import dataset_info, list_datasets, load_dataset
from core.data.types import DatasetError
from core.models.registry import MODELS, ModelError, model_spec
from core.runs import launcher
from core.runs.launcher import open_store
from core.runs.queries import run_warnings
from core.runs.store_health import check_store
from core.tasks.image_predict import PredictError, load_run_model, predict_top_k
from core.tasks.picker_summary import headline

# PermissionError: core.access.RunPermissionError (not your run) and unwritable files
USER_ERRORS = (
    ConfigError,
    DatasetError,
    ModelError,
    ValueError,
    FileNotFoundError,
    PermissionError,
)


NO_STORE_COMMANDS = ("datasets", "models", "users")  # they work without a run store


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    problem = (
        None if args.command in NO_STORE_COMMANDS else check_store(paths.runs_dir(), thorough=False)
    )
    if problem:  # a missing or corrupt runs.sqlite: say so, never overwrite it
        print(f"error: {problem.message}", file=sys.stderr)
        return 2
    try:
        return args.func(args)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m core", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("datasets", help="list the datasets a run can use")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_datasets)

    p = sub.add_parser("models", help="list the models a run can use")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_models)

    p = sub.add_parser("train", help="start a training run in its own process")
    p.add_argument("--dataset", default=RunConfig.dataset)
    p.add_argument("--model", default=RunConfig.model)
    p.add_argument("--epochs", type=int, default=RunConfig.epochs)
    p.add_argument("--batch-size", type=int, default=RunConfig.batch_size)
    p.add_argument("--name", default="")
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="any other config field, e.g. --set learning_rate=0.01 (repeatable)",
    )
    p.add_argument("--wait", action="store_true", help="block until the run ends")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("runs", help="list recent runs, newest first")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument(
        "--status", choices=["queued", "running", "succeeded", "failed", "stopped", "interrupted"]
    )
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("stop", help="ask a running run to stop after its current batch")
    p.add_argument("run_id")
    p.set_defaults(func=cmd_stop)

    p = sub.add_parser("resume", help="continue an interrupted run from its last finished epoch")
    p.add_argument("run_id")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("predict", help="classify images with a finished run's model")
    p.add_argument("--run", required=True, help="run id")
    source = p.add_mutually_exclusive_group(required=True)
    source.add_argument("--image", nargs="+", type=Path, help="image file(s) Pillow can read")
    source.add_argument("--sample", type=int, nargs="+", help="index(es) into the test split")
    p.add_argument("--top-k", type=int, default=3)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_predict)

    add_seismic_commands(sub)
    add_results_commands(sub)
    add_user_commands(sub)
    add_device_commands(sub)
    add_queue_commands(sub)
    add_continue_commands(sub)
    add_phasenet_commands(sub)
    return parser


def cmd_datasets(args) -> int:
    infos = [info.to_dict() for info in list_datasets()]
    if args.json:
        _print_json(infos)
    else:
        width = max(len(info["name"]) for info in infos)
        for info in infos:
            print(f"{info['name']:<{width}}  {info['kind']:<9} {info['description']}")
    return 0


def cmd_models(args) -> int:
    rows = [s.to_dict() for s in MODELS.values()]  # name, task, description, available, settings
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            print(f"{row['name']:<8} {row['task']:<15} {row['description']}")
    return 0


def cmd_train(args) -> int:

    config = RunConfig(
        dataset=args.dataset,
        model=args.model,
        epochs=args.epochs,
        batch_size=args.batch_size,
        name=args.name,
    ).with_overrides(args.set)
    dataset_info(config.dataset)
    model_spec(config.model)
    run_id = launcher.launch(config)
    store = launcher.open_store()
    if not args.wait:
        run = store.get_run(run_id)
        if args.json:
            _print_json({"id": run_id, "status": run.status})
        else:
            print(
                f"started run {run_id} ({config.model} on {config.dataset}); "
                f"watch it with: python -m core runs"
            )
        return 0
    run = wait_for_run(store, run_id, quiet=args.json)
    if args.json:
        _print_json(
            {
                "id": run_id,
                "status": run.status,
                "metrics": run.final_metrics or {},
                "error": run.error,
            }
        )
    else:
        print(f"run {run_id}: {run.status}")
        for key, value in (run.final_metrics or {}).items():
            print(f"  {key:<16} {value:.4f}" if isinstance(value, float) else f"  {key} {value}")
        if run.error:
            print(f"  error: {run.error}")
    return 0 if run.status in ("succeeded", "stopped") else 1


def wait_for_run(store, run_id: str, quiet: bool = False, poll_s: float = 0.5):
    """Poll until the run leaves queued/running; prints progress lines to stderr."""
    last = None
    while True:
        store.mark_lost_runs()
        run = store.get_run(run_id)
        if not run.is_active:
            return run
        line = f"{run.status}: epoch {min(run.epoch + 1, run.epochs)}/{run.epochs}"
        if not quiet and line != last:
            print(line, file=sys.stderr)
            last = line
        time.sleep(poll_s)


def cmd_runs(args) -> int:

    store = open_store()
    store.mark_lost_runs()
    runs = store.list_runs(limit=args.limit, status=args.status)
    if args.json:
        warnings = run_warnings(store, [r.id for r in runs])
        _print_json(
            [r.summary() | {"warnings": warnings.get(r.id, [])} | headline(r) for r in runs]
        )
        return 0
    if not runs:
        print(f"no runs yet in {paths.runs_dir()}")
    for r in runs:
        created = time.strftime("%Y-%m-%d %H:%M", time.localtime(r.created))
        acc = (r.final_metrics or {}).get("val_accuracy")
        acc_text = f"val_acc={acc:.3f}" if isinstance(acc, float) else ""
        f1 = headline(r)  # pickers: P/S F1 at 0.5 s instead of per-sample accuracy
        if f1:
            acc_text = " ".join(
                f"{k}={f1[k]:.3f}" for k in ("p_f1", "s_f1") if isinstance(f1[k], float)
            )
        owner = r.owner or "-"
        print(
            f"{r.id}  {r.status:<11} {r.model:<6} {r.dataset:<8} {owner:<12} {created}  {acc_text}"
        )
    return 0


def cmd_stop(args) -> int:

    _require_run(args.run_id)
    launcher.stop(args.run_id)
    print(f"stop requested for {args.run_id}")
    return 0


def cmd_resume(args) -> int:

    _require_run(args.run_id)
    launcher.open_store().mark_lost_runs()
    launcher.resume(args.run_id)
    print(f"resumed {args.run_id}")
    return 0


def cmd_predict(args) -> int:

    _require_run(args.run)
    raw = [_read(p) for p in args.image] if args.image else []  # missing files fail fast
    try:
        loaded = load_run_model(paths.run_dir(args.run))
        if args.image:
            names = [str(p) for p in args.image]
            images = [
                decode_image(data, loaded.input_shape, name)
                for data, name in zip(raw, names, strict=True)
            ]
        else:
            test = load_dataset(loaded.dataset)
            bad = [i for i in args.sample if not 0 <= i < len(test.y_test)]
            if bad:
                raise ValueError(
                    f"sample index {bad[0]} is outside the test split (0..{len(test.y_test) - 1})"
                )
            names = [f"test[{i}]" for i in args.sample]
            images = [test.x_test[i] for i in args.sample]
        results = predict_top_k(loaded, _stack(images), k=args.top_k)
    except (PredictError, ImageError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    rows = [{"input": n, "top_k": r} for n, r in zip(names, results, strict=True)]
    if args.json:
        _print_json(rows)
    else:
        for row in rows:
            best = ", ".join(f"{c['class']} {c['probability']:.1%}" for c in row["top_k"])
            print(f"{row['input']}: {best}")
    return 0


def _require_run(run_id: str) -> None:

    if open_store().get_run(run_id) is None:
        raise ValueError(f"no run {run_id!r} in {paths.runs_dir()} (see: python -m core runs)")


def _read(path: Path) -> bytes:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file")
    return path.read_bytes()


def _stack(images):

    return np.stack(images)


def _print_json(data) -> None:
    print(json.dumps(data, indent=2))
