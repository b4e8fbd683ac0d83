"""Lock-out after repeated failed password logins, per user name (known or not).

`max_failures` wrong passwords for one name within `window_s` lock that name for `lock_s`; a
successful login or `python -m core users unlock NAME` clears it. Kept in a small SQLite file
beside the run store (`runs/login_attempts.sqlite`, WAL), so it holds across reruns, browser
tabs, sessions and dashboard restarts, and two dashboard processes share it. Times are seconds
since the epoch (`time.time()`); nothing secret is stored (names and times only).
"""

from __future__ import annotations

import contextlib
import math
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from core import paths

FILE_NAME = "login_attempts.sqlite"
MAX_NAME_CHARS = 128  # a typed name is stored cut to this (user names have at most 64)
SCHEMA = """
CREATE TABLE IF NOT EXISTS failures (name TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS failures_by_name ON failures (name, at);
CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, until REAL NOT NULL);
"""


class LockoutError(ValueError):
    """The attempts file cannot be read or written; the message names it."""


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failures (0: no lock-out) within how many seconds lock a name, and for how long."""

    max_failures: int = 5
    window_s: float = 15 * 60
    lock_s: float = 15 * 60


def attempts_path() -> Path:
    """Where the failed logins are counted: beside runs.sqlite in the runs folder."""
    return paths.runs_dir() / FILE_NAME


def minutes_text(seconds: float) -> str:
    """'1 more minute' / '14 more minutes' (rounded up, never 0)."""
    minutes = max(1, math.ceil(seconds / 60))
    return f"{minutes} more minute" + ("s" if minutes > 1 else "")


class LoginAttempts:
    """Failed logins and locks of user names in one SQLite file (see the module docstring)."""

    def __init__(
        self,
        policy: LockoutPolicy,
        path: Path | None = None,
        clock: Callable[[], float] = time.time,
    ):
        self.policy = policy
        self.path = Path(path) if path is not None else attempts_path()
        self.clock = clock

    @contextlib.contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        try:
            db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        except sqlite3.Error as err:
            raise LockoutError(f"cannot open {self.path}: {err}") from None
        try:
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(SCHEMA)
            db.execute("BEGIN IMMEDIATE")  # one writer at a time: counts are never lost
            yield db
            db.execute("COMMIT")
        except sqlite3.Error as err:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise LockoutError(f"cannot record failed logins in {self.path}: {err}") from None
        finally:
            db.close()

    def locked_for(self, name: str) -> float:
        """Seconds `name` stays locked (0.0: it may try a password now)."""
        if not self.policy.max_failures or not name:
            return 0.0
        with self._db() as db:
            row = db.execute("SELECT until FROM locks WHERE name = ?", (_key(name),)).fetchone()
        return max(0.0, row[0] - self.clock()) if row else 0.0

    def record_failure(self, name: str) -> float:
        """Count one wrong password for `name`; the seconds it is now locked (0.0: not yet)."""
        if not self.policy.max_failures or not name:
            return 0.0
        now, key = self.clock(), _key(name)
        with self._db() as db:
            db.execute("DELETE FROM failures WHERE at < ?", (now - self.policy.window_s,))
            db.execute("DELETE FROM locks WHERE until <= ?", (now,))
            db.execute("INSERT INTO failures (name, at) VALUES (?, ?)", (key, now))
            (count,) = db.execute("SELECT COUNT(*) FROM failures WHERE name = ?", (key,)).fetchone()
            if count < self.policy.max_failures:
                return 0.0
            db.execute(
                "INSERT OR REPLACE INTO locks (name, until) VALUES (?, ?)",
                (key, now + self.policy.lock_s),
            )
            db.execute("DELETE FROM failures WHERE name = ?", (key,))
        return float(self.policy.lock_s)

    def clear(self, name: str) -> bool:
        """Forget `name`'s failures and lock (a good login, an admin's unlock); True if there
        was anything to forget."""
        if not self.path.exists():
            return False
        with self._db() as db:
            gone = db.execute("DELETE FROM failures WHERE name = ?", (_key(name),)).rowcount
            gone += db.execute("DELETE FROM locks WHERE name = ?", (_key(name),)).rowcount
        return gone > 0

    def locked_names(self) -> dict[str, float]:
        """{name: seconds it stays locked} of every locked name."""
        if not self.path.exists():
            return {}
        now = self.clock()
        with self._db() as db:
            rows = db.execute("SELECT name, until FROM locks WHERE until > ?", (now,)).fetchall()
        return {name: until - now for name, until in rows}


def _key(name: str) -> str:
    return name.strip()[:MAX_NAME_CHARS]
