"""Seismic subcommands of `python -m core`: `pick`, and the picking half of `evaluate` (the
`evaluate` command itself is registered by core.cli.results, which dispatches on the run's task).

    python -m core pick day.mseed --run ID [--p-threshold 0.3] [--s-threshold 0.3]
        [--min-distance 0.5] [--overlap 0.5] [--batch-size 64] [--csv out.csv]
        [--quakeml out.xml] [--json]
    python -m core evaluate --run ID [--dataset NAME] [--split train|validation|test|all]
        [--tolerance 0.1 0.5] [--json]

Thresholds not given are the run's saved best validation F1 ones (model.json "thresholds"), else
0.3; the JSON says where each came from ("thresholds_from"). `evaluate` of a run whose dataset is
not on this server (an imported model) uses a local labelled dataset and says so ("note"); its
result is kept in the run folder (core.tasks.picker_summary) for the runs tables.

User errors (unknown run, unreadable file, bad option) raise ValueError subclasses, which
core.cli.main.main prints as `error: ...` with exit code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from core import paths
from core.seismic.evaluation import evaluate_windows
from core.seismic.export import picks_to_csv, picks_to_quakeml
from core.seismic.obspy_source import read_stream_file
from core.seismic.picking import Picker, PickingError, PickOptions, read_picking_meta
from core.tasks.evaluate_images import default_split
from core.tasks.pick_scores import saved_options, threshold_origin
from core.tasks.picker_summary import evaluation_dataset, evaluation_windows, save_evaluation


def add_seismic_commands(sub) -> None:
    """Register `pick` on core.cli.main's subparsers (`evaluate` is in core.cli.results)."""
    p = sub.add_parser("pick", help="pick P and S arrivals in a waveform file with a picking run")
    p.add_argument("input", type=Path, help="any file ObsPy reads (MiniSEED, SAC, GSE2, ...)")
    p.add_argument("--run", required=True, help="id of a finished picking run")
    add_pick_options(p)
    p.add_argument("--csv", type=Path, help="write the picks to this CSV file")
    p.add_argument("--quakeml", type=Path, help="write the picks to this QuakeML file")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_pick)


def add_pick_options(p) -> None:
    d = PickOptions()
    saved = "default: the run's best validation F1 threshold, else 0.3"
    p.add_argument("--p-threshold", type=float, help=saved)
    p.add_argument("--s-threshold", type=float, help=saved)
    p.add_argument("--min-distance", type=float, default=d.min_distance_s, help="seconds")
    p.add_argument("--overlap", type=float, default=d.overlap, help="fraction of a window, [0, 1)")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--stacking", choices=["avg", "max"], default=d.stacking)


def _options(args, meta: dict) -> PickOptions:
    """The command's PickOptions; thresholds not given come from the run (saved_options)."""
    saved = saved_options(meta)
    options = PickOptions(
        p_threshold=saved.p_threshold if args.p_threshold is None else args.p_threshold,
        s_threshold=saved.s_threshold if args.s_threshold is None else args.s_threshold,
        min_distance_s=args.min_distance,
        overlap=args.overlap,
        batch_size=args.batch_size,
        stacking=args.stacking,
    )
    options.validate()
    return options


def _threshold_sources(args, meta: dict) -> dict:
    """{"p": where the P threshold came from, "s": ...} in words (core.tasks.pick_scores)."""
    return {
        phase: "given on the command line"
        if getattr(args, f"{phase}_threshold") is not None
        else threshold_origin(meta, phase.upper())
        for phase in ("p", "s")
    }


def run_folder(run_id: str) -> Path:
    """The artifact folder of an existing run."""
    folder = paths.run_dir(run_id)
    if not run_id or not folder.is_dir():
        raise PickingError(f"no run {run_id!r} in {paths.runs_dir()} (see: python -m core runs)")
    return folder


def load_picker(run_id: str):
    """The Picker of a finished picking run in the runs folder."""

    return Picker.from_run(run_folder(run_id))


def cmd_pick(args) -> int:

    for out in (args.csv, args.quakeml):
        if out is not None and not out.parent.is_dir():
            raise PickingError(f"{out}: the folder {out.parent} does not exist")
    meta = read_picking_meta(run_folder(args.run))  # cheap checks before TensorFlow loads
    options = _options(args, meta)
    records = read_stream_file(args.input, target_rate=float(meta.get("sampling_rate", 100.0)))
    picker = load_picker(args.run)
    picks, summaries = [], []
    for record in records:
        result = picker.pick_record(record, options)
        picks += result.picks
        summaries.append(
            {
                "station": record.station,
                "samples": int(result.probabilities.shape[0]),
                "sampling_rate": result.sampling_rate,
                "start_time": record.start_time,
                "windows": result.windows,
                "seconds": round(result.seconds, 3),
                "p_picks": sum(p.phase == "P" for p in result.picks),
                "s_picks": sum(p.phase == "S" for p in result.picks),
                "notes": result.notes,
            }
        )
    picks.sort(key=lambda p: (p.time, p.station, p.phase))
    if args.csv:
        picks_to_csv(picks, args.csv)
    if args.quakeml:
        picks_to_quakeml(picks, args.quakeml, str(picker.meta.get("model", "")), args.run)
    if args.json:
        _print_json(
            {
                "run": args.run,
                "input": str(args.input),
                "options": vars(options),
                "thresholds_from": _threshold_sources(args, meta),
                "records": summaries,
                "picks": [p.to_dict() for p in picks],
            }
        )
        return 0
    sources = _threshold_sources(args, meta)
    print(f"P threshold {options.p_threshold:g} ({sources['p']})", file=sys.stderr)
    print(f"S threshold {options.s_threshold:g} ({sources['s']})", file=sys.stderr)
    for s in summaries:
        print(
            f"{s['station']}: {s['samples']:,} samples at {s['sampling_rate']:g} Hz, "
            f"{s['windows']:,} windows in {s['seconds']:.1f} s: "
            f"{s['p_picks']} P, {s['s_picks']} S",
            file=sys.stderr,
        )
        for note in s["notes"]:
            print(f"  note: {note}", file=sys.stderr)
    for p in picks:
        print(f"{p.station:<16} {p.phase}  {p.time_iso}  {p.probability:.3f}")
    return 0


def cmd_evaluate_picking(args) -> int:
    """Score a picking run; args.split is train, validation, test or all (default: test of
    its own dataset, all of another). Thresholds default to the run's saved best-F1 ones; a
    run whose dataset is not on this server (an imported one) is scored on a local dataset."""

    if not args.tolerance or min(args.tolerance) <= 0:
        raise PickingError("tolerances must be positive seconds")
    meta = read_picking_meta(run_folder(args.run))
    options = _options(args, meta)
    own = str(meta.get("dataset", ""))
    name, note = (args.dataset, "") if args.dataset else evaluation_dataset(own)
    if note:
        print(f"note: {note}", file=sys.stderr)
    split = args.split or default_split(own, name)
    picker = load_picker(args.run)
    windows, rate = evaluation_windows(name, split)
    if abs(rate - picker.sampling_rate) > 1e-6 * rate:
        raise PickingError(
            f"dataset {name} is sampled at {rate:g} Hz, the model at {picker.sampling_rate:g} Hz"
        )
    report = evaluate_windows(
        picker.predict, windows, picker.window, options, args.tolerance, f"{name} ({split})"
    )
    save_evaluation(run_folder(args.run), report, own)
    sources = _threshold_sources(args, meta)
    if args.json:
        extra = {"thresholds_from": sources, **({"note": note} if note else {})}
        _print_json({"run": args.run, **report.to_dict(), **extra})
        return 0
    print(f"{report.dataset}: {report.windows} windows in {report.seconds:.1f} s")
    print(f"P threshold {options.p_threshold:g} ({sources['p']})")
    print(f"S threshold {options.s_threshold:g} ({sources['s']})")
    print("phase  tol[s]  precision  recall     F1   TP   FP   FN  residual mean/std [s]")
    for s in report.scores:
        residual = (
            f"{s.residual_mean_s:+.3f} / {s.residual_std_s:.3f}"
            if s.residual_mean_s is not None
            else "-"
        )
        print(
            f"{s.phase:<5}  {s.tolerance_s:6.2f}  {s.precision:9.3f}  {s.recall:6.3f}  "
            f"{s.f1:5.3f} {s.tp:4d} {s.fp:4d} {s.fn:4d}  {residual}"
        )
    return 0


def _print_json(data) -> None:
    print(json.dumps(data, indent=2))
