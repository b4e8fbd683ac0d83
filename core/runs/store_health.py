"""Is the run store usable? A missing or corrupt runs.sqlite gets a message, never an overwrite.

`check_store(root)` looks at root/runs.sqlite without writing to it (PRAGMA query_only):
- missing or empty and no run folders: None (first start; RunStore creates it as before);
- missing or empty while run folders (with a config.json) exist: a problem (the store was lost);
- not a SQLite database, unreadable, malformed or without the runs table: a problem.
The message names the file and what to do; the file itself is left as it is for the user.
The full page-by-page check (PRAGMA quick_check, ~0.5 s for a 160 MB store) runs once per file
per process; later calls (every dashboard rerun) only read the header and the schema (~1 ms).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

_CHECKED: set[tuple[str, int]] = set()  # (store path, inode) fully checked in this process
STORE_NAME = "runs.sqlite"
RECOVERY = (
    "Restore it from your latest backup (docs/deploy.md, 'Backups while it runs'): stop the "
    "dashboard, copy the backup to {path}, start it again."
)


@dataclass(frozen=True)
class StoreProblem:
    """Why the store cannot be used: `message` is meant for the user; `path` is the store file."""

    path: Path
    message: str


def check_store(root: Path, thorough: bool | None = None) -> StoreProblem | None:
    """None when root/runs.sqlite can be used (or created); else what is wrong with it.

    thorough: also check every page (None: only the first time this process sees the file).
    """
    path = Path(root) / STORE_NAME
    if not path.exists() or (path.is_file() and path.stat().st_size == 0):
        folders = run_folders(Path(root))
        if not folders:
            return None
        return StoreProblem(
            path,
            f"The run store {path} is missing, but {root} holds {len(folders)} run folder(s) "
            f"(e.g. {folders[0]}). Without the store their status and curves are lost. "
            + RECOVERY.format(path=path)
            + f" To start with an empty store instead, move the run folders out of {root}.",
        )
    key = (str(path.resolve()), path.stat().st_ino)
    full = key not in _CHECKED if thorough is None else thorough
    reason = _unreadable(path, full)
    if reason is None:
        if full:
            _CHECKED.add(key)
        return None
    return StoreProblem(
        path,
        f"The run store {path} cannot be read: {reason}. It was left unchanged so nothing more "
        "is lost. " + RECOVERY.format(path=path) + " Keep the damaged file for inspection "
        "(rename it, e.g. to runs.sqlite.damaged, before restoring).",
    )


def run_folders(root: Path) -> list[str]:
    """Names of the folders in root that look like runs (they hold a config.json), sorted."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "config.json").is_file())


def _unreadable(path: Path, thorough: bool) -> str | None:
    """Why the file is not a usable store, or None. Reads only (write statements refused).

    The file is only ever opened through SQLite: closing any other handle on it (even a
    read-only open() for its header) drops this process's POSIX locks on it, which lets another
    process reset the WAL under the store's own connections and corrupts it (SQLite's "How To
    Corrupt", section 2.2; reproduced here with a SIGKILLed writer).
    """
    if not path.is_file():
        return "it is not a file"
    try:
        db = sqlite3.connect(path, timeout=30.0)
        db.execute("PRAGMA query_only = ON")
    except sqlite3.Error as err:
        return f"it cannot be opened ({err})"
    try:
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if "runs" not in tables:
            return "it has no runs table (not a run store)"
        db.execute("SELECT COUNT(*) FROM runs").fetchone()
        problem = db.execute("PRAGMA quick_check(1)").fetchone()[0] if thorough else "ok"
        if problem != "ok":
            return f"the database is damaged ({problem})"
    except sqlite3.DatabaseError as err:
        if "file is not a database" in str(err):
            return "it is not a SQLite database (overwritten, or not a run store)"
        return f"the database is damaged ({err})"
    finally:
        db.close()
    return None
