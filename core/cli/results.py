"""`python -m core evaluate` (any run; dispatched on its task) and `python -m core export`.

    python -m core evaluate --run ID [--dataset NAME] [--split train|validation|test|all] [--json]
        picking runs also: [--tolerance 0.1 0.5] [--p-threshold ...] (see core.cli.seismic)
    python -m core evaluate --model-file FILE --dataset NAME [--split ...] [--json]
        an untrusted .keras / SavedModel .zip, loaded only in a subprocess (core.models.untrusted)
    python -m core export RUN --format keras|savedmodel|tflite [--quantize dynamic] --out PATH
        [--json]

The split defaults to the test split of the run's own (or a built-in) dataset and to all of a
folder or file source it was not trained on. JSON keys: evaluate has accuracy, per_class,
confusion_matrix, ece (classifiers), restored_error and histogram (autoencoders) or the
picking scores; export has path, bytes, max_abs_diff.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core.cli.seismic import add_pick_options, cmd_evaluate_picking, run_folder
from core.models.untrusted import check_model_file
from core.models.untrusted import predict as predict_untrusted
from core.runs.artifacts import read_model_meta, run_task
from core.runs.export_model import FORMATS, export_run
from core.tasks.evaluate_images import (
    SPLITS,
    EvaluateError,
    default_split,
    evaluate_arrays,
    evaluate_run,
    load_split,
)


def add_results_commands(sub) -> None:
    """Register `evaluate` and `export` on core.cli.main's subparsers."""
    p = sub.add_parser("evaluate", help="score a run (or a model file) on a labelled dataset")
    who = p.add_mutually_exclusive_group(required=True)
    who.add_argument("--run", help="id of a finished run")
    who.add_argument("--model-file", type=Path, help="a .keras file or a zipped SavedModel")
    p.add_argument("--dataset", help="dataset name (default: the run's own)")
    p.add_argument(
        "--split", choices=SPLITS, help="default: test (own dataset), all (another folder)"
    )
    p.add_argument(
        "--tolerance",
        type=float,
        nargs="+",
        default=[0.1, 0.5],
        help="picking runs: seconds (several allowed)",
    )
    add_pick_options(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("export", help="export a run's model (.keras, SavedModel zip, TFLite)")
    p.add_argument("run")
    p.add_argument("--format", required=True, choices=FORMATS)
    p.add_argument("--quantize", choices=["dynamic"], help="tflite only: dynamic-range int8")
    p.add_argument("--out", required=True, type=Path)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_export)


def cmd_evaluate(args) -> int:
    if args.model_file is not None:
        return _evaluate_file(args)
    folder = run_folder(args.run)
    task = run_task(folder)
    if task is None:
        raise EvaluateError(f"run {args.run} has no saved model (did it finish?)")
    if task == "picking":  # its own defaults: saved thresholds, a local dataset, the split
        return cmd_evaluate_picking(args)
    own = read_model_meta(folder).get("dataset", "")
    split = args.split or default_split(own, args.dataset)
    report = evaluate_run(folder, args.dataset, split, progress=_progress(args))
    _show(report, args.json)
    return 0


def _evaluate_file(args) -> int:
    name = args.model_file.name
    if not args.dataset:
        raise EvaluateError("--model-file needs --dataset (the labelled images to score it on)")
    if not args.model_file.is_file():
        raise FileNotFoundError(f"{args.model_file}: no such file")
    check_model_file(args.model_file, name)  # refused files never reach a subprocess
    data = load_split(args.dataset, args.split or default_split("", args.dataset))

    def run(batch):
        return predict_untrusted(args.model_file, batch, name)[1]

    report = evaluate_arrays(run, data, data.class_names, batch=len(data.x))
    report = {"model_file": str(args.model_file), "dataset": args.dataset, **report}
    _show(report, args.json)
    return 0


def _progress(args):
    if args.json:
        return None

    def show(done: int, total: int) -> None:
        print(f"\r{done:,}/{total:,} images", end="" if done < total else "\n", file=sys.stderr)

    return show


def _show(report: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report, indent=2))
        return
    where = report.get("run") or report.get("model_file")
    print(
        f"{where} on {report['dataset']} ({report.get('split', '')}): {report['examples']} images"
    )
    if "accuracy" not in report:
        print(f"reconstruction error (MAE): {report['restored_error']:.4f}")
        print(f"noisy input error (MAE):    {report['noisy_error']:.4f}")
        for row in report["worst"][:5]:
            print(f"  worst: image {row['index']} error {row['error']:.4f}")
        return
    print(
        f"accuracy {report['accuracy']:.4f}  macro F1 {report['macro_f1']:.4f}  "
        f"ECE {report['ece']:.4f}"
    )
    print("class         precision  recall     F1  support")
    for c in report["per_class"]:
        print(
            f"{c['class'][:12]:<12} {c['precision']:10.3f} {c['recall']:7.3f} "
            f"{c['f1']:6.3f} {c['support']:8d}"
        )
    print("confusion matrix (rows true, columns predicted):")
    for name, row in zip(report["class_names"], report["confusion_matrix"], strict=True):
        print(f"{name[:12]:<12} " + " ".join(f"{v:5d}" for v in row))


def cmd_export(args) -> int:
    folder = run_folder(args.run)
    result = export_run(folder, args.format, args.out, args.quantize)
    if args.json:
        print(json.dumps(result.to_dict(), indent=2))
        return 0
    print(f"wrote {result.path} ({result.bytes:,} bytes) in {result.seconds:.1f} s")
    print(f"largest difference from the Keras model: {result.max_abs_diff:.3g}")
    if result.accuracy_diff is not None:
        print(
            f"accuracy on {result.examples} test images: keras {result.keras_accuracy:.4f}, "
            f"export {result.export_accuracy:.4f} ({result.accuracy_diff:+.4f})"
        )
    return 0
