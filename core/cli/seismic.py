"""Seismic subcommands of `python -m core`: `pick`, and the picking half of `evaluate` (the
`evaluate` command itself is registered by core.cli.results, which dispatches on the run's task).

    python -m core pick day.mseed --run ID [--p-threshold 0.3] [--s-threshold 0.3]
        [--min-distance 0.5] [--overlap 0.5] [--batch-size 64] [--csv out.csv]
        [--quakeml out.xml] [--json]
    python -m core evaluate --run ID [--dataset NAME] [--split train|validation|test|all]
        [--tolerance 0.1 0.5] [--json]

User errors (unknown run, unreadable file, bad option) raise ValueError subclasses, which
core.cli.main.main prints as `error: ...` with exit code 2.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from core import paths
from core.seismic.evaluation import evaluate_windows
from core.seismic.export import picks_to_csv, picks_to_quakeml
from core.seismic.obspy_source import read_stream_file
from core.seismic.picking import Picker, PickingError, PickOptions, read_picking_meta
from core.tasks.picking import LabelledWindows, load_splits


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
    p.add_argument("--p-threshold", type=float, default=d.p_threshold)
    p.add_argument("--s-threshold", type=float, default=d.s_threshold)
    p.add_argument("--min-distance", type=float, default=d.min_distance_s, help="seconds")
    p.add_argument("--overlap", type=float, default=d.overlap, help="fraction of a window, [0, 1)")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--stacking", choices=["avg", "max"], default=d.stacking)


def _options(args) -> PickOptions:
    options = PickOptions(
        p_threshold=args.p_threshold,
        s_threshold=args.s_threshold,
        min_distance_s=args.min_distance,
        overlap=args.overlap,
        batch_size=args.batch_size,
        stacking=args.stacking,
    )
    options.validate()
    return options


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

    options = _options(args)
    for out in (args.csv, args.quakeml):
        if out is not None and not out.parent.is_dir():
            raise PickingError(f"{out}: the folder {out.parent} does not exist")
    meta = read_picking_meta(run_folder(args.run))  # cheap checks before TensorFlow loads
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
                "records": summaries,
                "picks": [p.to_dict() for p in picks],
            }
        )
        return 0
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
    """Score a picking run; args.split is train, validation, test or all (default test)."""

    options = _options(args)
    if not args.tolerance or min(args.tolerance) <= 0:
        raise PickingError("tolerances must be positive seconds")
    picker = load_picker(args.run)
    name = args.dataset or picker.dataset
    train, val, test, rate = load_splits(name)
    if abs(rate - picker.sampling_rate) > 1e-6 * rate:
        raise PickingError(
            f"dataset {name} is sampled at {rate:g} Hz, the model at {picker.sampling_rate:g} Hz"
        )
    split = args.split or "test"
    if split == "all":
        windows = _concat_windows([train, val, test])
    else:
        windows = {"train": train, "validation": val, "test": test}[split]
    report = evaluate_windows(
        picker.predict, windows, picker.window, options, args.tolerance, f"{name} ({split})"
    )
    if args.json:
        _print_json({"run": args.run, **report.to_dict()})
        return 0
    print(f"{report.dataset}: {report.windows} windows in {report.seconds:.1f} s")
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


def _concat_windows(parts: list[LabelledWindows]) -> LabelledWindows:
    """One LabelledWindows over several (their sets appended, references shifted)."""
    sets, refs = [], []
    for part in parts:
        refs.append(part.refs + np.array([len(sets), 0], np.int64))
        sets.extend(part.sets)
    return LabelledWindows(sets, np.concatenate(refs).reshape(-1, 2))


def _print_json(data) -> None:
    print(json.dumps(data, indent=2))
