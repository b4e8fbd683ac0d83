"""`python -m core users {add,list,remove}`, owners in `runs`, and `stop` refused for others."""

from __future__ import annotations

import io
import json
import os
import stat
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from core import access
from core.access.config import parse_config
from core.cli.main import main
from core.paths import REPO_ROOT
from core.runs.store import RunStore
from tests.conftest import TINY
from tests.core.test_access import login_settings

KEEP = '# keep this comment\n[auth]\ncookie_secret = "abc"\n'


@pytest.fixture
def secrets(tmp_path, monkeypatch) -> Path:
    """TFLAB_SECRETS names a file that does not exist yet (`users add` creates it)."""
    path = tmp_path / "conf" / "secrets.toml"
    monkeypatch.setenv(access.SECRETS_ENV, str(path))
    return path


def config_of(path: Path) -> access.AuthConfig:
    return parse_config(tomllib.loads(path.read_text())["tflab_auth"], str(path), {})


def run_main(argv: list[str], capsys, stdin: str | None = None, monkeypatch=None):
    if stdin is not None:
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
    code = main(argv)
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_add_with_password_stdin_through_the_real_entry_point(secrets):
    secrets.parent.mkdir()
    secrets.write_text(KEEP)
    proc = subprocess.run(
        [sys.executable, "-m", "core", "users", "add", "alice", "--password-stdin"],
        input="s3cret-passw0rd\n",
        cwd=REPO_ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == f"added user alice to {secrets} (mode 0600)"
    assert "s3cret" not in proc.stdout + proc.stderr
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600
    assert secrets.read_text().startswith(KEEP)
    assert "s3cret-passw0rd" not in secrets.read_text()
    config = config_of(secrets)
    assert config.mode == "password"
    assert access.check_password(config, "alice", "s3cret-passw0rd")


def test_add_asks_twice_with_getpass(secrets, capsys, monkeypatch):
    answers = iter(["first-password", "first-password"])
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    code, out, _ = run_main(["users", "add", "bob"], capsys)
    assert code == 0 and out.startswith("added user bob to ")
    assert access.check_password(config_of(secrets), "bob", "first-password")
    assert stat.S_IMODE(secrets.stat().st_mode) == 0o600

    answers = iter(["new-password", "typo-password"])
    before = secrets.read_text()
    code, _, err = run_main(["users", "add", "bob"], capsys)
    assert code == 2 and "the two passwords differ; nothing was changed" in err
    assert secrets.read_text() == before

    answers = iter(["new-password", "new-password"])
    code, out, _ = run_main(["users", "add", "bob"], capsys)
    assert code == 0 and out.startswith("changed the password of bob in ")
    assert access.check_password(config_of(secrets), "bob", "new-password")


@pytest.mark.parametrize(
    ("argv", "stdin", "message"),
    [
        (["users", "add", "bob"], "", "no terminal to ask for the password: pipe it in with"),
        (["users", "add", "bob", "--password-stdin"], "\n", "no password on stdin"),
        (["users", "add", "bob", "--password-stdin"], "short\n", "at least 8 characters"),
        (["users", "add", "b b", "--password-stdin"], "long-enough\n", "not a usable user name"),
        (["users", "remove", "nobody"], "", "no user 'nobody' in"),
    ],
)
def test_user_errors_are_one_line(secrets, capsys, monkeypatch, argv, stdin, message):
    code, out, err = run_main(argv, capsys, stdin=stdin, monkeypatch=monkeypatch)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert not secrets.exists()


def test_list_and_remove(secrets, capsys, monkeypatch):
    secrets.parent.mkdir()
    login_settings(secrets, users={"alice": "password-1", "bob": "password-2"}, admins=("alice",))
    code, out, _ = run_main(["users", "list"], capsys)
    assert code == 0 and out.splitlines() == ["alice  (admin)", "bob"]
    assert "$2b$" not in out
    code, out, _ = run_main(["users", "list", "--json"], capsys)
    assert json.loads(out) == [
        {"name": "alice", "admin": True, "locked": False},
        {"name": "bob", "admin": False, "locked": False},
    ]
    code, out, _ = run_main(["users", "remove", "bob"], capsys)
    assert code == 0 and out.strip() == f"removed user bob from {secrets}"
    assert access.list_users(secrets) == ["alice"]


def test_an_explicit_secrets_file_and_a_mode_note(tmp_path, secrets, capsys, monkeypatch):
    other = tmp_path / "elsewhere.toml"
    other.write_text('[tflab_auth]\nmode = "off"\n')
    code, out, err = run_main(
        ["users", "add", "carol", "--password-stdin", "--secrets", str(other)],
        capsys,
        stdin="long-enough\n",
        monkeypatch=monkeypatch,
    )
    assert code == 0 and str(other) in out
    assert 'mode is "off": password users only log in with mode = "password"' in err
    assert access.list_users(other) == ["carol"] and not secrets.exists()
    code, out, _ = run_main(["users", "list"], capsys)
    assert "no users in" in out  # the default file was not touched


def test_runs_show_their_owner(runs_root, secrets, capsys):
    secrets.parent.mkdir()
    secrets.write_text("")
    store = RunStore(runs_root / "runs.sqlite")
    mine = store.create_run(dict(TINY), owner="alice")
    legacy = store.create_run(dict(TINY))
    code, out, _ = run_main(["runs", "--json"], capsys)
    assert code == 0
    owners = {r["id"]: r["owner"] for r in json.loads(out)}
    assert owners == {mine: "alice", legacy: ""}
    code, out, _ = run_main(["runs"], capsys)
    lines = {line.split()[0]: line.split() for line in out.splitlines()}
    assert "alice" in lines[mine] and "-" in lines[legacy]


def test_stop_of_someone_elses_run_is_refused(runs_root, secrets, capsys, monkeypatch):
    secrets.parent.mkdir()
    secrets.write_text("")
    monkeypatch.setattr("getpass.getuser", lambda: "carol")
    store = RunStore(runs_root / "runs.sqlite")
    theirs = store.create_run(dict(TINY), owner="alice")
    code, out, err = run_main(["stop", theirs], capsys)
    assert code == 2
    assert err.strip() == (
        f"error: carol may not stop run {theirs}. "
        "Only its owner alice or an admin (none configured) may change this run."
    )
    assert not store.stop_requested(theirs)
    own = store.create_run(dict(TINY), owner="carol")
    code, out, _ = run_main(["stop", own], capsys)
    assert code == 0 and store.stop_requested(own)
