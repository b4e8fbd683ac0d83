"""`python -m core queue [--json]`, `cancel ID`, `scheduler`: the job queue from the command line.

queue lists queued and running jobs (id, kind, status, position, owner, resources, devices,
label, estimated_start in seconds since the epoch or null) and starts a scheduler when jobs wait
and none runs; cancel cancels a queued job or asks a running one to stop; scheduler runs the
scheduler in the foreground (for systemd).
"""

from __future__ import annotations

import json

from core import paths
from core.runs import launcher, scheduler
from core.runs.queue_report import describe_resources, describe_start, queue_report


def add_queue_commands(sub) -> None:
    p = sub.add_parser("queue", help="queued and running jobs, first come first served")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_queue)

    p = sub.add_parser("cancel", help="cancel a queued job, or ask a running one to stop")
    p.add_argument("job_id")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_cancel)

    p = sub.add_parser("scheduler", help="run the job scheduler in the foreground")
    p.add_argument(
        "--idle-exit",
        type=float,
        default=0.0,
        help="end after this many seconds with nothing queued (default 0: never)",
    )
    p.set_defaults(func=cmd_scheduler)


def cmd_queue(args) -> int:
    root = paths.runs_dir()
    store = launcher.open_store(root)
    rows = queue_report(store, scheduler.current_slots())
    if any(r["position"] for r in rows):
        scheduler.ensure_scheduler(root)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print(f"nothing queued or running in {root}")
    for r in rows:
        where = describe_resources(r["resources"], r["devices"])
        place = f"#{r['position']}" if r["position"] else "-"
        start = describe_start(r) if r["position"] else ""
        owner = r["owner"] or "-"
        print(f"{place:>4} {r['id']}  {r['kind']:<8} {r['status']:<9} {owner:<12} {where}  {start}")
    return 0


def cmd_cancel(args) -> int:
    outcome = launcher.cancel(args.job_id)
    if args.json:
        print(json.dumps({"id": args.job_id, "outcome": outcome}))
    else:
        print(f"{args.job_id}: {outcome}")
    return 0


def cmd_scheduler(args) -> int:
    return scheduler.run_scheduler(paths.runs_dir(), idle_exit_s=args.idle_exit)
