"""`python -m core import-phasenet CHECKPOINT_DIR [--name NAME] [--owner USER] [--json]`.

Turns PhaseNet's published TensorFlow 1 checkpoint folder into a finished picking run (see
core.seismic.phasenet_import); prints the new run id, or with --json {"id", "name", "window",
"sampling_rate", "filters", "checkpoint"}. A bad folder is a user error (`error: ...`, exit 2).
"""

from __future__ import annotations

import json
from pathlib import Path

from core import paths
from core.runs import artifacts
from core.seismic.phasenet_import import import_checkpoint


def add_phasenet_commands(sub) -> None:
    """Register `import-phasenet` on core.cli.main's subparsers."""
    p = sub.add_parser(
        "import-phasenet",
        help="import PhaseNet's published TF1 checkpoint as a finished picking run",
    )
    p.add_argument(
        "checkpoint_dir",
        type=Path,
        help="folder with model_95.ckpt.index and .data-* (PhaseNet's model/190703-214543)",
    )
    p.add_argument("--name", default="", help="name of the new run")
    p.add_argument("--owner", default=None, help="owner of the new run (default: the OS user)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_import_phasenet)


def cmd_import_phasenet(args) -> int:
    run_id = import_checkpoint(args.checkpoint_dir, name=args.name, owner=args.owner)
    folder = paths.run_dir(run_id)
    meta = artifacts.read_model_meta(folder)
    name = artifacts.read_json(folder, artifacts.CONFIG).get("name", "")
    if args.json:
        out = {
            "id": run_id,
            "name": name,
            "task": meta["task"],
            "window": meta["window"],
            "sampling_rate": meta["sampling_rate"],
            "filters": meta["settings"]["filters"],
            "checkpoint": str(args.checkpoint_dir),
        }
        print(json.dumps(out, indent=2))
        return 0
    print(f"imported {args.checkpoint_dir} as run {run_id} ({name})")
    return 0
