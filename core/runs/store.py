"""SQLite run store (WAL): runs, per-batch and per-epoch metrics, events, heartbeat, stop flag.

Every call opens a short-lived connection, so the store is safe to share between threads and
processes: the worker writes, any number of dashboards and CLIs read. The schema, the Run row
and the statuses live in core.runs.store_schema and are re-exported here.
"""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from pathlib import Path

from core.access import authorize
from core.runs.job_store import Job, JobQueries
from core.runs.store_schema import (
    ACTIVE,
    FINISHED,
    SCHEMA,
    Run,
    _add_missing_columns,
    _metric_row,
    _to_run,
)

__all__ = [
    "ACTIVE",
    "FINISHED",
    "HEARTBEAT_TIMEOUT_S",
    "LIVE_PID_TIMEOUT_S",
    "Job",
    "SCHEMA",
    "Run",
    "RunStore",
    "pid_alive",
]

HEARTBEAT_TIMEOUT_S = 5.0  # a live worker beats every second
STARTUP_TIMEOUT_S = 300.0  # a started worker process has this long to report in
# A worker whose process still exists on this machine but has not beaten for this long (hung):
# a busy 2-core server can stall a worker's heartbeat thread for several seconds while the
# worker loads TensorFlow's libraries, and such a worker must not be marked lost at 5 s
LIVE_PID_TIMEOUT_S = 60.0


class RunStore(JobQueries):
    """All reads and writes of run and job state go through here (the queue: JobQueries)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            _add_missing_columns(db)
            db.executescript(SCHEMA)

    @contextlib.contextmanager
    def _connect(self):
        db = sqlite3.connect(self.path, timeout=30.0)
        db.row_factory = sqlite3.Row
        db.execute("PRAGMA synchronous=NORMAL")
        db.execute("PRAGMA busy_timeout=30000")
        try:
            with db:  # one transaction: commit on success, roll back on error
                yield db
        finally:
            db.close()

    def keep_open(self) -> sqlite3.Connection:
        """An idle connection for a writer to hold while it works: with it open, closing the
        short-lived per-call connections no longer checkpoints the WAL (disk syncs) every time.
        The caller closes it."""
        return sqlite3.connect(self.path, timeout=30.0)

    # ---- runs -------------------------------------------------------------------------------
    def create_run(
        self,
        config: dict,
        name: str = "",
        group_id: str | None = None,
        owner: str = "",
        resources: dict | None = None,
    ) -> str:
        """A queued run owned by `owner` ("" = nobody: only for runs from before owners).

        resources: what it asks the scheduler for ({"gpus": n, "gpu_indices": [..] | None}).
        """
        run_id = time.strftime("%Y%m%d-%H%M%S-") + uuid.uuid4().hex[:6]
        now = time.time()
        with self._connect() as db:
            db.execute(
                "INSERT INTO runs (id, name, status, dataset, model, config, created, epochs,"
                " group_id, owner, resources, queued_at)"
                " VALUES (?, ?, 'queued', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    run_id,
                    name or config.get("name", ""),
                    config["dataset"],
                    config["model"],
                    json.dumps(config),
                    now,
                    int(config.get("epochs", 0)),
                    group_id,
                    owner,
                    json.dumps(resources or {}),
                    now,
                ),
            )
        return run_id

    def get_run(self, run_id: str) -> Run | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        return _to_run(row) if row else None

    def list_runs(self, limit: int = 50, offset: int = 0, status: str | None = None) -> list[Run]:
        """Newest first."""
        query, args = "SELECT * FROM runs", []
        if status:
            query, args = query + " WHERE status = ?", [status]
        query += " ORDER BY created DESC LIMIT ? OFFSET ?"
        with self._connect() as db:
            rows = db.execute(query, (*args, limit, offset)).fetchall()
        return [_to_run(r) for r in rows]

    def set_status(self, run_id: str, status: str, error: str | None = None) -> None:
        now = time.time()
        finished = now if status in FINISHED else None
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET status = ?, error = COALESCE(?, error),"
                " finished = COALESCE(?, finished) WHERE id = ?",
                (status, error, finished, run_id),
            )

    def mark_started(self, run_id: str, pid: int) -> None:
        """The worker is alive: running, with its pid and a fresh heartbeat."""
        now = time.time()
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET status = 'running', pid = ?, started = COALESCE(started, ?),"
                " heartbeat = ?, finished = NULL, error = NULL WHERE id = ?",
                (pid, now, now, run_id),
            )

    def set_pid(self, run_id: str, pid: int) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET pid = ?, heartbeat = ? WHERE id = ?", (pid, time.time(), run_id)
            )

    def requeue(self, run_id: str) -> None:
        """Prepare an interrupted or stopped run to be resumed: back at the end of the queue."""
        now = time.time()
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET status = 'queued', finished = NULL, error = NULL, pid = NULL,"
                " stop_requested = 0, heartbeat = ?, claimed = NULL, devices = NULL,"
                " queued_at = ? WHERE id = ?",
                (now, now, run_id),
            )

    def beat(self, run_id: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE runs SET heartbeat = ? WHERE id = ?", (time.time(), run_id))

    def set_progress(self, run_id: str, epoch: int, step: int, steps_per_epoch: int | None) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET epoch = ?, step = ?, steps_per_epoch = ? WHERE id = ?",
                (epoch, step, steps_per_epoch, run_id),
            )

    def set_final_metrics(self, run_id: str, metrics: dict) -> None:
        with self._connect() as db:
            db.execute(
                "UPDATE runs SET final_metrics = ? WHERE id = ?", (json.dumps(metrics), run_id)
            )

    def request_stop(self, run_id: str) -> None:
        with self._connect() as db:
            db.execute("UPDATE runs SET stop_requested = 1 WHERE id = ?", (run_id,))

    def stop_requested(self, run_id: str) -> bool:
        with self._connect() as db:
            row = db.execute("SELECT stop_requested FROM runs WHERE id = ?", (run_id,)).fetchone()
        return bool(row and row[0])

    def update_labels(
        self,
        run_id: str,
        name: str | None = None,
        tags: list[str] | None = None,
        note: str | None = None,
        user: str | None = None,
    ) -> None:
        """Rename a run, replace its tags or its note (None leaves a field as it is).

        Only its owner or an admin may (core.access.RunPermissionError); user None is the OS
        user, as on the command line. ValueError if there is no such run.
        """
        with self._connect() as db:
            row = db.execute("SELECT owner FROM runs WHERE id = ?", (run_id,)).fetchone()
            if row is None:
                raise ValueError(f"no run {run_id}")
            authorize(run_id, row["owner"], "rename, tag or note", user)
            if name is not None:
                db.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))
            if tags is not None:
                clean = sorted({t.strip() for t in tags if t.strip()})
                db.execute("UPDATE runs SET tags = ? WHERE id = ?", (json.dumps(clean), run_id))
            if note is not None:
                db.execute("UPDATE runs SET note = ? WHERE id = ?", (note, run_id))

    def group_runs(self, group_id: str) -> list[Run]:
        """The runs of one group (e.g. the K runs of a K-fold cross-validation), oldest first."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT * FROM runs WHERE group_id = ? ORDER BY created, id", (group_id,)
            ).fetchall()
        return [_to_run(r) for r in rows]

    def count_runs(self, status: str | None = None) -> int:
        query, args = "SELECT COUNT(*) FROM runs", ()
        if status:
            query, args = query + " WHERE status = ?", (status,)
        with self._connect() as db:
            return db.execute(query, args).fetchone()[0]

    def delete_run(self, run_id: str) -> None:
        with self._connect() as db:
            for table in ("batch_metrics", "epoch_metrics", "events"):
                db.execute(f"DELETE FROM {table} WHERE run_id = ?", (run_id,))
            db.execute("DELETE FROM runs WHERE id = ?", (run_id,))

    # ---- metrics and events --------------------------------------------------------------------
    def add_batch_metrics(self, run_id: str, rows: list[tuple[int, int, float, dict]]) -> None:
        """rows: (global_step, epoch, wall_time, {name: value}) written in one transaction."""
        if not rows:
            return
        with self._connect() as db:
            db.executemany(
                "INSERT INTO batch_metrics VALUES (?, ?, ?, ?, ?)",
                [(run_id, s, e, t, json.dumps(m)) for s, e, t, m in rows],
            )

    def drop_metrics_from_epoch(self, run_id: str, epoch: int) -> None:
        """Forget metrics of epochs >= epoch (a resumed run repeats its unfinished epoch)."""
        with self._connect() as db:
            db.execute("DELETE FROM batch_metrics WHERE run_id = ? AND epoch >= ?", (run_id, epoch))
            db.execute("DELETE FROM epoch_metrics WHERE run_id = ? AND epoch >= ?", (run_id, epoch))

    def add_epoch_metrics(self, run_id: str, epoch: int, metrics: dict) -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO epoch_metrics VALUES (?, ?, ?, ?)",
                (run_id, epoch, time.time(), json.dumps(metrics)),
            )

    def batch_metrics(
        self, run_id: str, after_step: int = -1, max_points: int = 2000
    ) -> list[dict]:
        """Per-batch rows as dicts (global_step, epoch, wall_time, metrics...), evenly thinned."""
        with self._connect() as db:
            count = db.execute(
                "SELECT COUNT(*) FROM batch_metrics WHERE run_id = ? AND global_step > ?",
                (run_id, after_step),
            ).fetchone()[0]
            every = max(1, -(-count // max_points))
            rows = db.execute(
                "SELECT global_step, epoch, wall_time, metrics FROM batch_metrics"
                " WHERE run_id = ? AND global_step > ? AND (global_step % ? = 0 OR ? = 1)"
                " ORDER BY global_step",
                (run_id, after_step, every, every),
            ).fetchall()
        out = [_metric_row(r, global_step=r["global_step"]) for r in rows]
        latest = self.latest_batch(run_id) if every > 1 else None
        if latest and (not out or out[-1]["global_step"] != latest["global_step"]):
            out.append(latest)  # thinning must never hide the newest point
        return out

    def latest_batch(self, run_id: str) -> dict | None:
        with self._connect() as db:
            row = db.execute(
                "SELECT global_step, epoch, wall_time, metrics FROM batch_metrics WHERE run_id = ?"
                " ORDER BY global_step DESC LIMIT 1",
                (run_id,),
            ).fetchone()
        return _metric_row(row, global_step=row["global_step"]) if row else None

    def epoch_metrics(self, run_id: str) -> list[dict]:
        """Per-epoch rows as dicts (epoch, wall_time, metrics...); a resumed epoch keeps one row."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT epoch, wall_time, metrics FROM epoch_metrics WHERE run_id = ?"
                " ORDER BY wall_time",
                (run_id,),
            ).fetchall()
        latest = {r["epoch"]: _metric_row(r) for r in rows}
        return [latest[e] for e in sorted(latest)]

    def add_event(self, run_id: str, message: str, level: str = "info") -> None:
        with self._connect() as db:
            db.execute(
                "INSERT INTO events VALUES (?, ?, ?, ?)", (run_id, time.time(), level, message)
            )

    def events(self, run_id: str) -> list[dict]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT time, level, message FROM events WHERE run_id = ? ORDER BY time", (run_id,)
            ).fetchall()
        return [dict(r) for r in rows]

    # ---- liveness ------------------------------------------------------------------------------
    def mark_lost_runs(
        self, now: float | None = None, timeout: float = HEARTBEAT_TIMEOUT_S
    ) -> list[str]:
        """Mark started runs and jobs whose worker is gone (dead pid or stale heartbeat) as
        interrupted, which frees their slot. A job still waiting in the queue (not claimed by a
        scheduler, no worker) is never lost."""
        now = time.time() if now is None else now
        lost = []
        with self._connect() as db:
            for table in ("runs", "jobs"):
                rows = db.execute(
                    f"SELECT id, status, pid, heartbeat, created FROM {table}"
                    " WHERE status = 'running'"
                    " OR (status = 'queued' AND (pid IS NOT NULL OR claimed IS NOT NULL))"
                ).fetchall()
                gone = [row["id"] for row in rows if _is_lost(row, now, timeout)]
                for run_id in gone:
                    db.execute(
                        f"UPDATE {table} SET status = 'interrupted', finished = ?,"
                        " error = 'the worker process ended without finishing (killed or crashed)'"
                        " WHERE id = ? AND status IN ('queued', 'running')",
                        (now, run_id),
                    )
                lost += gone
            for run_id in lost:
                db.execute(
                    "INSERT INTO events VALUES (?, ?, 'warning', ?)",
                    (run_id, now, "worker lost: marked interrupted; it can be resumed"),
                )
        return lost


def _is_lost(row, now: float, timeout: float) -> bool:
    """A dead pid (at once), or no heartbeat for `timeout` s. A process that still exists gets
    LIVE_PID_TIMEOUT_S, or STARTUP_TIMEOUT_S while still starting (queued: importing
    TensorFlow can take longer than the timeout)."""
    if row["pid"] is not None and not pid_alive(row["pid"]):
        return True
    if row["status"] == "queued" and row["pid"] is not None:
        timeout = max(timeout, STARTUP_TIMEOUT_S)
    elif row["pid"] is not None:
        timeout = max(timeout, LIVE_PID_TIMEOUT_S)
    return now - (row["heartbeat"] or row["created"]) > timeout


def pid_alive(pid: int) -> bool:
    """True if a process with this pid exists on this machine and is not a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
        return state not in ("Z", "X")
    except (FileNotFoundError, IndexError, ProcessLookupError, PermissionError):
        return False
