"""dashboard/queue_view.py through AppTest: a queued run shows its place, an estimated start and
a Cancel button on the Train page; Home lists the queue. No process is started: the slot is held
by this test's own pid and ensure_scheduler is replaced by a recorder."""

from __future__ import annotations

import os
import sqlite3
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from core.runs import scheduler
from core.runs.store import RunStore
from tests.conftest import TINY
from tests.pages.helpers import widget

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


@pytest.fixture
def queue(runs_root, monkeypatch, tmp_path):
    """(store, running run id, queued run id, ensured roots): one CPU slot, held by a run that
    is half done after 100 s, and a run waiting behind it."""
    (tmp_path / "secrets.toml").write_text("")
    monkeypatch.setenv("TFLAB_SECRETS", str(tmp_path / "secrets.toml"))
    monkeypatch.setenv("TFLAB_GPUS", "none")
    scheduler._SLOTS_CACHE.clear()
    ensured: list[Path] = []
    monkeypatch.setattr(scheduler, "ensure_scheduler", lambda root: ensured.append(root))
    store = RunStore(runs_root / "runs.sqlite")
    running = store.create_run(dict(TINY, epochs=2), "ahead")
    (job,) = store.active_jobs()
    store.claim_job(job, [])
    store.mark_started(running, os.getpid())
    store.set_progress(running, 1, 0, 10)
    with sqlite3.connect(store.path) as db:
        # a worker that beats for the whole test (opening the app can take longer than 5 s)
        db.execute(
            "UPDATE runs SET started = ?, heartbeat = ? WHERE id = ?",
            (time.time() - 100, time.time() + 3600, running),
        )
    queued = store.create_run(dict(TINY), "waiting")
    yield store, running, queued, ensured
    scheduler._SLOTS_CACHE.clear()


def open_page(page: str, run_id: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=30)
    if run_id:
        at.query_params["run"] = run_id
    at.run()
    at.switch_page(f"../pages/{page}.py").run()
    assert not at.exception, at.exception
    return at


def test_a_queued_run_shows_its_place_and_can_be_cancelled(queue, runs_root):
    store, _, queued, ensured = queue
    at = open_page("train", queued)
    (info,) = [i.value for i in at.info if i.value.startswith("Queued")]
    assert info.startswith("Queued: position 1 of 1 · 0 waiting ahead, 1 running · asks for")
    assert "starts in about 2 min" in info or "starts within" in info  # ~100 s left ahead
    assert ensured == [runs_root]  # the page makes sure a scheduler will start it
    cancel = widget(at.button, "Cancel")
    assert not cancel.disabled
    cancel.click()
    at.run()
    assert not at.exception, at.exception
    assert store.get_run(queued).status == "cancelled"
    assert not any(b.label == "Cancel" for b in at.button)
    assert any("cancelled" in s.value for s in at.subheader)


def test_a_running_run_has_no_queue_box(queue):
    _, running, _, _ = queue
    at = open_page("train", running)
    assert not any(i.value.startswith("Queued") for i in at.info)
    assert not any(b.label == "Cancel" for b in at.button)


def test_home_lists_the_queue(queue):
    _, running, queued, _ = queue
    at = open_page("home")
    assert "Queue" in [s.value for s in at.subheader]
    (table,) = [d.value for d in at.dataframe if "position" in d.value.columns]
    assert table["id"].tolist() == [running, queued]
    assert table["position"].tolist() == ["running", "1"]
    assert table["resources"].tolist() == ["CPU", "CPU"]
