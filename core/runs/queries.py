"""Run lists for big stores: filtered, paged queries and run deletion with artifacts.

Queries use the runs table's indexes and never load metrics, so listing stays fast with
thousands of runs.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from core.access import authorize
from core.runs.artifacts import has_model
from core.runs.store import Run, RunStore, _to_run

# Health warnings (core.runs.run_health) are events of level "warning" starting with this.
WARNING_PREFIX = "Check this run: "


@dataclass
class RunFilter:
    """What a runs list shows; empty fields match everything."""

    text: str = ""  # substring of id, name or note
    status: str = ""
    model: str = ""
    dataset: str = ""
    tag: str = ""
    owner: str = ""


def search_runs(
    store: RunStore, where: RunFilter, limit: int = 50, offset: int = 0
) -> tuple[list[Run], int]:
    """(one page of matching runs, newest first; total number of matches)."""
    clauses, args = [], []
    if where.text:
        clauses.append("(id LIKE ? OR name LIKE ? OR note LIKE ?)")
        args += [f"%{where.text}%"] * 3
    for column in ("status", "model", "dataset", "owner"):
        value = getattr(where, column)
        if value:
            clauses.append(f"{column} = ?")
            args.append(value)
    if where.tag:
        clauses.append("EXISTS (SELECT 1 FROM json_each(runs.tags) WHERE json_each.value = ?)")
        args.append(where.tag)
    condition = (" WHERE " + " AND ".join(clauses)) if clauses else ""
    with store._connect() as db:
        total = db.execute(f"SELECT COUNT(*) FROM runs{condition}", args).fetchone()[0]
        rows = db.execute(
            f"SELECT * FROM runs{condition} ORDER BY created DESC LIMIT ? OFFSET ?",
            (*args, limit, offset),
        ).fetchall()
    return [_to_run(r) for r in rows], total


def distinct_values(store: RunStore) -> dict[str, list[str]]:
    """The models, datasets, statuses, owners and tags that occur, for filter drop-downs."""
    out = {}
    with store._connect() as db:
        for column in ("model", "dataset", "status", "owner"):
            out[column] = [
                r[0] for r in db.execute(f"SELECT DISTINCT {column} FROM runs ORDER BY {column}")
            ]
        out["tag"] = [
            r[0]
            for r in db.execute(
                "SELECT DISTINCT json_each.value FROM runs, json_each(runs.tags) ORDER BY 1"
            )
        ]
    return out


def get_runs(store: RunStore, run_ids: list[str]) -> list[Run]:
    """The runs with these ids, in the given order (unknown ids are left out)."""
    if not run_ids:
        return []
    marks = ",".join("?" * len(run_ids))
    with store._connect() as db:
        rows = db.execute(f"SELECT * FROM runs WHERE id IN ({marks})", run_ids).fetchall()
    found = {r["id"]: _to_run(r) for r in rows}
    return [found[i] for i in run_ids if i in found]


def delete_run_with_artifacts(
    store: RunStore, run_id: str, root: Path, user: str | None = None
) -> None:
    """Remove a finished run from the store and its folder from disk; refuses active runs.

    Only its owner or an admin may (core.access.RunPermissionError); user None is the OS user.
    """
    run = store.get_run(run_id)
    if run is None:
        raise ValueError(f"no run {run_id}")
    authorize(run_id, run.owner, "delete", user)
    if run.is_active:
        raise ValueError(f"run {run_id} is {run.status}: stop it before deleting it")
    folder = (root / run_id).resolve()
    if folder.parent != root.resolve():
        raise ValueError(f"refusing to delete {folder}: not inside the runs folder")
    store.delete_run(run_id)
    shutil.rmtree(folder, ignore_errors=True)


def runs_with_models(store: RunStore, root: Path, limit: int = 200) -> list[Run]:
    """Newest runs that ended with a saved model (succeeded or stopped), for prediction."""

    runs = store.list_runs(limit=limit)
    return [r for r in runs if r.status in ("succeeded", "stopped") and has_model(root / r.id)]


def run_warnings(store: RunStore, run_ids: list[str]) -> dict[str, list[str]]:
    """{run id: the run's health warnings (core.runs.run_health), oldest first}; runs without
    any are left out. One indexed query for the whole list."""
    if not run_ids:
        return {}
    marks = ",".join("?" * len(run_ids))
    with store._connect() as db:
        rows = db.execute(
            f"SELECT run_id, message FROM events WHERE run_id IN ({marks}) AND level = 'warning'"
            " AND substr(message, 1, ?) = ? ORDER BY time",
            (*run_ids, len(WARNING_PREFIX), WARNING_PREFIX),
        ).fetchall()
    out: dict[str, list[str]] = {}
    for row in rows:
        out.setdefault(row["run_id"], []).append(row["message"][len(WARNING_PREFIX) :])
    return out
