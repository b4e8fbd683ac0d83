"""The queue's view of the store: every run (kind 'train', table runs) and every heavy job (table
jobs) as a Job; claim, start, cancel and finish them. Mixed into core.runs.store.RunStore.

Times are seconds since the epoch; progress is a fraction in [0, 1]; resources are
{"gpus": n, "gpu_indices": [..] | None} (gpus 0 = a CPU job).
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass, field

from core.access import authorize

TRAIN = "train"
# the columns both tables share, as the scheduler reads them
_COMMON = (
    "id, kind, status, owner, resources, devices, COALESCE(queued_at, created) AS queued_at,"
    " claimed, started, heartbeat, pid, stop_requested"
)
_RUN_FIELDS = f"SELECT {_COMMON}, name AS label, epoch, epochs, step, steps_per_epoch FROM runs"
_JOB_FIELDS = (
    f"SELECT {_COMMON}, label, progress AS epoch, 1 AS epochs, 0 AS step, 1 AS steps_per_epoch"
    " FROM jobs"
)
_ORDER = " ORDER BY queued_at, id"


@dataclass
class Job:
    """One entry of the queue: a training run or a heavy job."""

    id: str
    kind: str
    status: str
    owner: str
    resources: dict
    devices: list[int] | None  # assigned GPU indices ([] = CPU); None until claimed
    queued_at: float
    claimed: float | None
    started: float | None
    heartbeat: float | None
    pid: int | None
    stop_requested: bool
    label: str = ""
    fraction: float | None = None  # progress of a running job in [0, 1]
    params: dict = field(default_factory=dict)

    @property
    def table(self) -> str:
        return "runs" if self.kind == TRAIN else "jobs"

    @property
    def waiting(self) -> bool:
        """Queued and not yet taken by a scheduler."""
        return self.status == "queued" and self.claimed is None

    @property
    def gpus(self) -> int:
        return int(self.resources.get("gpus", 0) or 0)


def parse_devices(text: str | None) -> list[int] | None:
    """ "0,2" -> [0, 2]; "" -> [] (CPU); None -> None (not assigned)."""
    if text is None:
        return None
    return [int(p) for p in text.split(",") if p.strip()]


def _to_job(row) -> Job:
    total = (row["epochs"] or 0) * (row["steps_per_epoch"] or 0)
    if row["kind"] == TRAIN:
        fraction = (
            (row["epoch"] * (row["steps_per_epoch"] or 0) + row["step"]) / total if total else None
        )
    else:
        fraction = float(row["epoch"] or 0.0)
    return Job(
        id=row["id"],
        kind=row["kind"],
        status=row["status"],
        owner=row["owner"],
        resources=json.loads(row["resources"] or "{}"),
        devices=parse_devices(row["devices"]),
        queued_at=row["queued_at"],
        claimed=row["claimed"],
        started=row["started"],
        heartbeat=row["heartbeat"],
        pid=row["pid"],
        stop_requested=bool(row["stop_requested"]),
        label=row["label"] or "",
        fraction=None if fraction is None else min(1.0, max(0.0, fraction)),
    )


class JobQueries:
    """Queue methods of the store (needs self._connect from RunStore)."""

    def active_jobs(self) -> list[Job]:
        """Queued and running jobs of both tables, first come first (queued_at, then id)."""
        where = " WHERE status IN ('queued', 'running')"
        with self._connect() as db:
            rows = db.execute(
                f"SELECT * FROM ({_RUN_FIELDS}{where} UNION ALL {_JOB_FIELDS}{where}){_ORDER}"
            ).fetchall()
        return [_to_job(r) for r in rows]

    def get_job(self, job_id: str) -> Job | None:
        with self._connect() as db:
            row = db.execute(
                f"SELECT * FROM ({_RUN_FIELDS} UNION ALL {_JOB_FIELDS}) WHERE id = ?", (job_id,)
            ).fetchone()
            if row is None:
                return None
            job = _to_job(row)
            if job.kind != TRAIN:
                extra = db.execute("SELECT params FROM jobs WHERE id = ?", (job_id,)).fetchone()
                job.params = json.loads(extra["params"] or "{}")
        return job

    def recent_durations(self, kind: str, limit: int = 20) -> list[float]:
        """Seconds from start to end of the latest finished jobs of a kind (newest first)."""
        table = "runs" if kind == TRAIN else "jobs"
        with self._connect() as db:
            rows = db.execute(
                f"SELECT finished - started FROM {table} WHERE kind = ? AND status = 'succeeded'"
                " AND started IS NOT NULL AND finished IS NOT NULL ORDER BY finished DESC LIMIT ?",
                (kind, limit),
            ).fetchall()
        return [r[0] for r in rows if r[0] is not None and r[0] >= 0]

    def claim_job(self, job: Job, devices: list[int]) -> bool:
        """Take a waiting job from the queue in one transaction; False if another took it."""
        now = time.time()
        with self._connect() as db:
            cursor = db.execute(
                f"UPDATE {job.table} SET claimed = ?, heartbeat = ?, devices = ?"
                " WHERE id = ? AND status = 'queued' AND claimed IS NULL",
                (now, now, ",".join(str(d) for d in devices), job.id),
            )
        return cursor.rowcount == 1

    def set_job_pid(self, job: Job, pid: int) -> None:
        with self._connect() as db:
            db.execute(
                f"UPDATE {job.table} SET pid = ?, heartbeat = ? WHERE id = ?",
                (pid, time.time(), job.id),
            )

    def fail_job(self, job: Job, error: str) -> None:
        """A job that could not be started (e.g. the executor failed)."""
        now = time.time()
        with self._connect() as db:
            db.execute(
                f"UPDATE {job.table} SET status = 'failed', error = ?, finished = ? WHERE id = ?",
                (error, now, job.id),
            )

    def cancel_job(self, job_id: str, user: str | None = None) -> str:
        """Cancel a waiting job ('cancelled') or ask a started one to stop ('stop requested').

        Only its owner or an admin may (core.access.RunPermissionError); user None is the OS
        user. ValueError if there is no such job or it has already ended.
        """
        job = self.get_job(job_id)
        if job is None:
            raise ValueError(f"no job {job_id}")
        authorize(job_id, job.owner, "cancel", user)
        now = time.time()
        with self._connect() as db:
            cursor = db.execute(
                f"UPDATE {job.table} SET status = 'cancelled', finished = ?, stop_requested = 1"
                " WHERE id = ? AND status = 'queued' AND claimed IS NULL",
                (now, job_id),
            )
            if cursor.rowcount == 1:
                return "cancelled"
            cursor = db.execute(
                f"UPDATE {job.table} SET stop_requested = 1"
                " WHERE id = ? AND status IN ('queued', 'running')",
                (job_id,),
            )
        if cursor.rowcount == 1:
            return "stop requested"
        raise ValueError(f"job {job_id} has already ended ({job.status})")

    # ---- heavy jobs (table jobs) ----------------------------------------------------------------
    def create_job(
        self,
        kind: str,
        params: dict,
        owner: str = "",
        resources: dict | None = None,
        label: str = "",
        held: bool = False,
    ) -> str:
        """A queued heavy job (pick, evaluate, export ...); returns its id. held: not yet in
        the queue (its files are being written) until release_job."""
        if kind == TRAIN:
            raise ValueError("training runs are created with create_run")
        job_id = f"{kind}-" + time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        now = time.time()
        with self._connect() as db:
            db.execute(
                "INSERT INTO jobs (id, kind, status, owner, label, params, resources, created,"
                " queued_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    job_id,
                    kind,
                    "held" if held else "queued",
                    owner,
                    label,
                    json.dumps(params),
                    json.dumps(resources or {"gpus": 0}),
                    now,
                    now,
                ),
            )
        return job_id

    def release_job(self, job_id: str) -> None:
        """A held job joins the end of the queue."""
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET status = 'queued', queued_at = ? WHERE id = ? AND status = 'held'",
                (time.time(), job_id),
            )

    def job_started(self, job_id: str, pid: int) -> None:
        now = time.time()
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET status = 'running', pid = ?, started = COALESCE(started, ?),"
                " heartbeat = ? WHERE id = ?",
                (pid, now, now, job_id),
            )

    def job_progress(self, job_id: str, fraction: float, message: str = "") -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET progress = ?, message = ?, heartbeat = ? WHERE id = ?",
                (min(1.0, max(0.0, fraction)), message, time.time(), job_id),
            )

    def request_job_stop(self, job_id: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET stop_requested = 1 WHERE id = ?", (job_id,))

    def job_beat(self, job_id: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE jobs SET heartbeat = ? WHERE id = ?", (time.time(), job_id))

    def finish_job(
        self, job_id: str, status: str, result: dict | None = None, error: str | None = None
    ) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE jobs SET status = ?, result = ?, error = ?, finished = ?,"
                " progress = CASE WHEN ? = 'succeeded' THEN 1 ELSE progress END WHERE id = ?",
                (
                    status,
                    None if result is None else json.dumps(result),
                    error,
                    time.time(),
                    status,
                    job_id,
                ),
            )

    def job_outcome(self, job_id: str) -> dict | None:
        """{status, progress, message, result, error, created, started, finished} of a heavy job."""
        with self._connect() as db:
            row = db.execute(
                "SELECT status, progress, message, result, error, created, started, finished"
                " FROM jobs WHERE id = ?",
                (job_id,),
            ).fetchone()
        if row is None:
            return None
        out = dict(row)
        out["result"] = json.loads(out["result"]) if out["result"] else None
        return out
