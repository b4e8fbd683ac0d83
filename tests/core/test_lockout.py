"""Lock-out after failed password logins (core/access/lockout.py, access.try_login): counted per
name in a SQLite file, so it holds for new objects, threads and processes; settings checked;
`python -m core users unlock`. The clock is a fake one: nothing waits.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from core import access
from core.access.config import parse_config
from core.access.lockout import LockoutPolicy, LoginAttempts
from tests.core.test_access import login_settings

REPO = Path(__file__).resolve().parents[2]
POLICY = LockoutPolicy(max_failures=5, window_s=900, lock_s=600)


class Clock:
    def __init__(self, now: float = 1_000_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def attempts(path: Path, clock: Clock, policy: LockoutPolicy = POLICY) -> LoginAttempts:
    """A fresh object each time: what it knows comes from the file alone."""
    return LoginAttempts(policy, path, clock)


def test_five_failures_lock_the_name_then_it_expires(tmp_path, clock):
    path = tmp_path / "login_attempts.sqlite"
    for _ in range(4):
        assert attempts(path, clock).record_failure("alice") == 0.0
        clock.now += 10
    assert attempts(path, clock).locked_for("alice") == 0.0
    assert attempts(path, clock).record_failure("alice") == 600.0  # the fifth
    clock.now += 60
    assert attempts(path, clock).locked_for("alice") == pytest.approx(540)
    assert attempts(path, clock).locked_for("bob") == 0.0  # other names are not touched
    assert attempts(path, clock).locked_names() == {"alice": pytest.approx(540)}
    clock.now += 541
    assert attempts(path, clock).locked_for("alice") == 0.0
    assert attempts(path, clock).record_failure("alice") == 0.0  # the count started again


def test_old_failures_fall_out_of_the_window(tmp_path, clock):
    path = tmp_path / "a.sqlite"
    for _ in range(4):
        attempts(path, clock).record_failure("alice")
    clock.now += 901  # those four are older than the 15-minute window
    for _ in range(4):
        assert attempts(path, clock).record_failure("alice") == 0.0
    assert attempts(path, clock).record_failure("alice") == 600.0


def test_clear_and_no_lockout(tmp_path, clock):
    path = tmp_path / "a.sqlite"
    for _ in range(5):
        attempts(path, clock).record_failure("alice")
    assert attempts(path, clock).clear("alice") is True
    assert attempts(path, clock).locked_for("alice") == 0.0
    assert attempts(path, clock).clear("alice") is False
    off = LockoutPolicy(max_failures=0)
    for _ in range(20):
        assert attempts(path, clock, off).record_failure("bob") == 0.0
    assert attempts(path, clock).locked_for("bob") == 0.0  # nothing was even written


def test_concurrent_failures_are_all_counted(tmp_path, clock):
    """Eight threads (sessions) and two processes record at once: no count is lost."""
    path = tmp_path / "a.sqlite"
    policy = LockoutPolicy(max_failures=1000, window_s=900, lock_s=600)
    threads = [
        threading.Thread(target=attempts(path, clock, policy).record_failure, args=("x",))
        for _ in range(8)
    ]
    code = (
        "import sys; from pathlib import Path; from core.access.lockout import *;"
        "a = LoginAttempts(LockoutPolicy(1000, 900, 600), Path(sys.argv[1]), lambda: 1e6);"
        "[a.record_failure('x') for _ in range(5)]"
    )
    procs = [subprocess.Popen([sys.executable, "-c", code, str(path)], cwd=REPO) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [p.wait(60) for p in procs] == [0, 0]
    with sqlite3.connect(path) as db:
        (count,) = db.execute("SELECT COUNT(*) FROM failures WHERE name = 'x'").fetchone()
    assert count == 8 + 10


def test_unusable_file_is_a_clear_error(tmp_path, clock):
    folder = tmp_path / "not-a-file.sqlite"
    folder.mkdir()
    with pytest.raises(access.LockoutError, match="not-a-file.sqlite"):
        attempts(folder, clock).record_failure("alice")


# ---- try_login: the order of the checks --------------------------------------------------------
@pytest.fixture
def config(tmp_path, monkeypatch):
    path = login_settings(tmp_path / "secrets.toml", users={"alice": "alice-password"})
    monkeypatch.setenv(access.SECRETS_ENV, str(path))
    return access.load_config()


def test_try_login_locks_known_and_unknown_names_alike(tmp_path, clock, config):
    path = tmp_path / "a.sqlite"
    for name in ("alice", "nobody"):
        for _ in range(4):
            assert access.try_login(config, name, "wrong", attempts(path, clock)) == access.WRONG
        message = access.try_login(config, name, "wrong", attempts(path, clock))
        assert message == (
            f"Too many failed logins for {name}: this user name is locked for 10 more minutes. "
            f"Try again later, or ask an admin to unlock it (python -m core users unlock {name})."
        )
    # locked: even the right password is refused, and the message says how long
    clock.now += 300
    assert "locked for 5 more minutes" in access.try_login(
        config, "alice", "alice-password", attempts(path, clock)
    )
    clock.now += 301
    assert access.try_login(config, "alice", "alice-password", attempts(path, clock)) == ""
    assert access.locked_message("[x](http://evil) y", 60) == (
        "Too many failed logins for this user name: this user name is locked for 1 more minute. "
        "Try again later, or ask an admin to unlock it (python -m core users unlock NAME)."
    )


def test_a_good_login_clears_the_count(tmp_path, clock, config):
    path = tmp_path / "a.sqlite"
    for _ in range(4):
        access.try_login(config, "alice", "wrong", attempts(path, clock))
    assert access.try_login(config, "alice", "alice-password", attempts(path, clock)) == ""
    for _ in range(4):
        assert access.try_login(config, "alice", "wrong", attempts(path, clock)) == access.WRONG


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"max_failed_logins": -1}, "max_failed_logins must be a whole number"),
        ({"max_failed_logins": "5"}, "max_failed_logins must be a whole number"),
        ({"max_failed_logins": True}, "max_failed_logins must be a whole number"),
        ({"lockout_minutes": 0}, "lockout_minutes must be a number from 1 to 1440"),
        ({"lockout_minutes": "ten"}, "lockout_minutes must be a number from 1 to 1440"),
    ],
)
def test_bad_lockout_settings_are_refused(values, message):
    section = {"mode": "password", "users": {"a": "$2b$04$" + "a" * 53}, **values}
    with pytest.raises(access.AccessConfigError, match=message):
        parse_config(section, "secrets.toml", {})


def test_lockout_settings_reach_the_policy():
    users = {"a": "$2b$04$" + "a" * 53}
    section = {"mode": "password", "users": users, "max_failed_logins": 3, "lockout_minutes": 2}
    assert parse_config(section, "s", {}).lockout == LockoutPolicy(3, 120.0, 120.0)
    assert parse_config({"mode": "password", "users": users}, "s", {}).lockout == LockoutPolicy(
        5, 900.0, 900.0
    )


def test_cli_unlock_and_list(runs_root, config):
    locks = LoginAttempts(config.lockout)  # runs/login_attempts.sqlite of this test
    for _ in range(5):
        locks.record_failure("alice")
    env = {"TFLAB_RUNS_DIR": str(runs_root), access.SECRETS_ENV: access.secrets_path().as_posix()}

    def cli(*args: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "core", "users", *args],
            cwd=REPO,
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    assert cli("list") == "alice  (locked for 15 more minutes)\n"
    assert cli("unlock", "alice").startswith("unlocked alice: failed logins forgotten")
    assert locks.locked_for("alice") == 0.0
    assert cli("list") == "alice\n"
    assert cli("unlock", "alice").startswith("alice was not locked")
