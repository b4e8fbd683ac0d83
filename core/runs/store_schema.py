"""The run store's data model: run statuses, SQLite schema and migration, Run and row converters.

Every run is also a job of the queue (kind 'train'); heavy jobs (pick, evaluate, export) live in
the `jobs` table. Both carry resources (JSON {"gpus": n, "gpu_indices": [..] | null}; gpus 0 =
CPU), the GPU indices a scheduler assigned (`devices`, "0,1"), queued_at and claimed (seconds).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field

ACTIVE = ("queued", "running")
FINISHED = ("succeeded", "failed", "stopped", "interrupted", "cancelled")
JOB_COLUMNS = (  # added to runs by _add_missing_columns; the same names in jobs
    ("kind", "kind TEXT NOT NULL DEFAULT 'train'"),
    ("resources", "resources TEXT NOT NULL DEFAULT '{}'"),
    ("devices", "devices TEXT"),
    ("queued_at", "queued_at REAL"),
    ("claimed", "claimed REAL"),
)

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL,
    dataset TEXT NOT NULL,
    model TEXT NOT NULL,
    config TEXT NOT NULL,
    created REAL NOT NULL,
    started REAL,
    finished REAL,
    heartbeat REAL,
    pid INTEGER,
    error TEXT,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    epoch INTEGER NOT NULL DEFAULT 0,
    epochs INTEGER NOT NULL DEFAULT 0,
    step INTEGER NOT NULL DEFAULT 0,
    steps_per_epoch INTEGER,
    final_metrics TEXT,
    group_id TEXT,
    tags TEXT NOT NULL DEFAULT '[]',
    note TEXT NOT NULL DEFAULT '',
    owner TEXT NOT NULL DEFAULT '',
    kind TEXT NOT NULL DEFAULT 'train',
    resources TEXT NOT NULL DEFAULT '{}',
    devices TEXT,
    queued_at REAL,
    claimed REAL
);
CREATE TABLE IF NOT EXISTS jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    status TEXT NOT NULL,
    owner TEXT NOT NULL DEFAULT '',
    label TEXT NOT NULL DEFAULT '',
    params TEXT NOT NULL DEFAULT '{}',
    resources TEXT NOT NULL DEFAULT '{}',
    devices TEXT,
    created REAL NOT NULL,
    queued_at REAL,
    claimed REAL,
    started REAL,
    finished REAL,
    heartbeat REAL,
    pid INTEGER,
    stop_requested INTEGER NOT NULL DEFAULT 0,
    progress REAL NOT NULL DEFAULT 0,
    message TEXT NOT NULL DEFAULT '',
    result TEXT,
    error TEXT
);
CREATE INDEX IF NOT EXISTS jobs_status ON jobs(status);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created);
CREATE INDEX IF NOT EXISTS runs_status ON runs(status);
CREATE INDEX IF NOT EXISTS runs_group ON runs(group_id);
CREATE TABLE IF NOT EXISTS batch_metrics (
    run_id TEXT NOT NULL,
    global_step INTEGER NOT NULL,
    epoch INTEGER NOT NULL,
    wall_time REAL NOT NULL,
    metrics TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS batch_metrics_run ON batch_metrics(run_id, global_step);
CREATE TABLE IF NOT EXISTS epoch_metrics (
    run_id TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    wall_time REAL NOT NULL,
    metrics TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS epoch_metrics_run ON epoch_metrics(run_id, epoch);
CREATE TABLE IF NOT EXISTS events (
    run_id TEXT NOT NULL,
    time REAL NOT NULL,
    level TEXT NOT NULL,
    message TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_run ON events(run_id, time);
"""


@dataclass
class Run:
    """One row of the runs table, with JSON columns decoded."""

    id: str
    name: str
    status: str
    dataset: str
    model: str
    config: dict
    created: float
    started: float | None
    finished: float | None
    heartbeat: float | None
    pid: int | None
    error: str | None
    stop_requested: bool
    epoch: int
    epochs: int
    step: int
    steps_per_epoch: int | None
    final_metrics: dict | None
    group_id: str | None = None
    tags: list = field(default_factory=list)
    note: str = ""
    owner: str = ""  # who started it ("" for runs from before owners were recorded)
    kind: str = "train"
    resources: dict = field(default_factory=dict)  # what it asked the scheduler for
    devices: str | None = None  # GPU indices the scheduler gave it ("0,1"; "" = CPU)
    queued_at: float | None = None
    claimed: float | None = None  # when a scheduler took it from the queue

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE

    def summary(self) -> dict:
        """The stable JSON shape of `runs --json`."""
        return {
            "id": self.id,
            "name": self.name,
            "status": self.status,
            "dataset": self.dataset,
            "model": self.model,
            "created": self.created,
            "started": self.started,
            "finished": self.finished,
            "epoch": self.epoch,
            "epochs": self.epochs,
            "error": self.error,
            "metrics": self.final_metrics or {},
            "group_id": self.group_id,
            "tags": self.tags,
            "note": self.note,
            "owner": self.owner,
        }


def _add_missing_columns(db: sqlite3.Connection) -> None:
    """Upgrade a runs table made by an older version (new columns get their defaults)."""
    existing = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    if not existing:
        return
    for column, ddl in (
        ("group_id", "group_id TEXT"),
        ("tags", "tags TEXT NOT NULL DEFAULT '[]'"),
        ("note", "note TEXT NOT NULL DEFAULT ''"),
        ("owner", "owner TEXT NOT NULL DEFAULT ''"),
        *JOB_COLUMNS,
    ):
        if column not in existing:
            db.execute(f"ALTER TABLE runs ADD COLUMN {ddl}")


def _metric_row(row: sqlite3.Row, **extra) -> dict:
    out = {k: row[k] for k in row.keys() if k != "metrics"}
    out.update(extra)
    out.update(json.loads(row["metrics"]))
    return out


def _to_run(row: sqlite3.Row) -> Run:
    data = dict(row)
    data["config"] = json.loads(data["config"])
    data["final_metrics"] = json.loads(data["final_metrics"]) if data["final_metrics"] else None
    data["stop_requested"] = bool(data["stop_requested"])
    data["tags"] = json.loads(data["tags"] or "[]")
    data["resources"] = json.loads(data.get("resources") or "{}")
    return Run(**data)
