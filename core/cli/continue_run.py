"""`python -m core continue RUN --epochs N [--wait] [--json]`: train a finished run N more epochs.

The continuation is a new run (core.runs.continue_run) that starts from the old run's weights and
optimizer state; the old run stays as it was.
"""

from __future__ import annotations

import json
import time

from core.runs import launcher
from core.runs.continue_run import continue_run


def add_continue_commands(sub) -> None:
    p = sub.add_parser(
        "continue", help="train a succeeded or stopped run for more epochs (as a new run)"
    )
    p.add_argument("run_id")
    p.add_argument("--epochs", type=int, required=True, help="how many more epochs")
    p.add_argument("--wait", action="store_true", help="block until the new run ends")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_continue)


def cmd_continue(args) -> int:
    new_id = continue_run(args.run_id, args.epochs)
    store = launcher.open_store()
    run = _wait(store, new_id) if args.wait else store.get_run(new_id)
    if args.json:
        print(
            json.dumps(
                {
                    "id": new_id,
                    "continues": args.run_id,
                    "status": run.status,
                    "metrics": run.final_metrics or {},
                    "error": run.error,
                },
                indent=2,
            )
        )
    elif args.wait:
        print(f"run {new_id} (continues {args.run_id}): {run.status}")
        if run.error:
            print(f"  error: {run.error}")
    else:
        print(
            f"started run {new_id}: {args.run_id} for {args.epochs} more epochs; "
            "watch it with: python -m core runs"
        )
    return 0 if run.status in ("queued", "running", "succeeded", "stopped") else 1


def _wait(store, run_id: str, poll_s: float = 0.5):
    """The run once it has left queued/running (lost workers are marked interrupted)."""
    while True:
        store.mark_lost_runs()
        run = store.get_run(run_id)
        if not run.is_active:
            return run
        time.sleep(poll_s)
