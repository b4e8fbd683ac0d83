"""The dashboard with a corrupt or lost runs.sqlite: one clear message, no page, nothing written."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs.store import RunStore

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture(autouse=True)
def no_login(tmp_path, monkeypatch):
    path = tmp_path / "secrets.toml"
    path.write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(path))


def open_app() -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30).run()
    assert not at.exception, at.exception
    return at


def test_a_corrupt_store_gets_a_message_instead_of_a_page(runs_root):
    path = runs_root / "runs.sqlite"
    path.write_bytes(b"not a database at all\n" * 50)
    at = open_app()
    assert len(at.error) == 1
    message = at.error[0].value
    assert f"The run store {path} cannot be read" in message
    assert "not a SQLite database" in message and "docs/deploy.md" in message
    assert not at.title and not at.dataframe  # the page itself did not run
    assert path.read_bytes() == b"not a database at all\n" * 50


def test_a_lost_store_beside_run_folders_gets_a_message(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run({"dataset": "digits", "model": "cnn"})
    (runs_root / run_id).mkdir()
    (runs_root / run_id / "config.json").write_text("{}")
    for suffix in ("", "-wal", "-shm"):
        (runs_root / f"runs.sqlite{suffix}").unlink(missing_ok=True)
    at = open_app()
    assert len(at.error) == 1 and "is missing" in at.error[0].value and run_id in at.error[0].value
    assert not (runs_root / "runs.sqlite").exists()


def test_a_first_start_opens_home_and_creates_the_store(runs_root):
    at = open_app()
    assert not at.error and [t.value for t in at.title] == ["TF Lab"]
    assert (runs_root / "runs.sqlite").is_file()
