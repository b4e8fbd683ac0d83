"""Queue positions and estimated start times (seconds since the epoch) of waiting jobs, from the
running jobs' progress and the durations of finished jobs of the same kind."""

from __future__ import annotations

import statistics
import time

from core.runs.job_store import Job
from core.runs.scheduler import Slots
from core.runs.store import RunStore


def queue_report(store: RunStore, slots: Slots, now: float | None = None) -> list[dict]:
    """Queued and running jobs, first come first: id, kind, status, position (1 = next; 0 for
    a started job), owner, resources, devices, label, estimated_start (seconds since the epoch,
    None when it cannot be estimated: no ETA of the jobs ahead and no finished job to learn
    from)."""
    now = time.time() if now is None else now
    jobs = store.active_jobs()
    durations = {}
    for kind in {j.kind for j in jobs}:
        seen = store.recent_durations(kind)
        durations[kind] = statistics.median(seen) if seen else None
    starts = _estimated_starts(jobs, slots, durations, now)
    out, position = [], 0
    for job in jobs:
        position += job.waiting
        out.append(
            {
                "id": job.id,
                "kind": job.kind,
                "status": "starting" if job.status == "queued" and not job.waiting else job.status,
                "position": position if job.waiting else 0,
                "owner": job.owner,
                "resources": job.resources,
                "devices": job.devices,
                "label": job.label,
                "estimated_start": job.started or job.claimed
                if not job.waiting
                else starts.get(job.id),
            }
        )
    return out


def _estimated_starts(jobs: list[Job], slots: Slots, durations: dict, now: float) -> dict:
    """{waiting job id: start time} by replaying the queue on slot free-times (GPU jobs take
    one slot per GPU; unknown remaining time = never, so nothing behind it gets an estimate)."""
    inf = float("inf")
    pools = {"gpu": [now] * (len(slots.gpus) * slots.jobs_per_gpu), "cpu": [now] * slots.cpu_jobs}

    def pool_and_units(job: Job) -> tuple[list, int]:
        if slots.gpus and (job.gpus or (not job.waiting and job.devices is None)):
            return pools["gpu"], job.gpus or len(slots.gpus)
        return pools["cpu"], 1

    def occupy(free: list, units: int, start: float, seconds: float | None) -> None:
        free.sort()
        del free[:units]
        free.extend([start + seconds if seconds is not None else inf] * units)

    for job in (j for j in jobs if not j.waiting):
        free, units = pool_and_units(job)
        elapsed = now - (job.started or job.claimed or now)
        if job.fraction and job.fraction > 0.01 and job.started:
            left = elapsed / job.fraction - elapsed
        elif durations.get(job.kind) is not None:
            left = max(0.0, durations[job.kind] - elapsed)
        else:
            left = None
        occupy(free, min(units, len(free)), now, left)
    out, last = {}, {"gpu": now, "cpu": now}
    for job in (j for j in jobs if j.waiting):
        free, units = pool_and_units(job)
        name = "gpu" if free is pools["gpu"] else "cpu"
        if units > len(free):
            continue
        start = max(sorted(free)[units - 1], last[name])  # FCFS within a pool
        last[name] = start
        if start < inf:
            out[job.id] = start
        occupy(free, units, start, durations.get(job.kind))
    return out


def describe_resources(resources: dict, devices: list[int] | None) -> str:
    """'GPU 0,1' once assigned, else what it asks for: '2 GPUs', 'GPU 3', 'CPU'."""
    if devices:
        return "GPU " + ",".join(map(str, devices))
    if devices == [] or not resources.get("gpus"):
        return "CPU"
    pinned = resources.get("gpu_indices")
    if pinned:
        return "GPU " + ",".join(map(str, pinned))
    n = resources["gpus"]
    return f"{n} GPU{'s' if n > 1 else ''} (any free; CPU without GPUs)"


def describe_start(row: dict, now: float | None = None) -> str:
    """'starts in about 4 min', or why there is no estimate."""
    start = row.get("estimated_start")
    if start is None:
        return "start: unknown (no estimate for the jobs ahead)"
    wait = max(0.0, start - (time.time() if now is None else now))
    if wait < 60:
        return "starts within a minute"
    if wait < 3600:
        return f"starts in about {wait / 60:.0f} min"
    return f"starts in about {wait / 3600:.1f} h"
