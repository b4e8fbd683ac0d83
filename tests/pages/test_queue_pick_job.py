"""A long record is picked by a queued job in a real worker process, not by the page: the
Predict page submits it, puts its id in the URL, follows it, and a fresh page (a refresh or a
shared link) with ?job=<id> shows the result."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.runs import scheduler
from core.runs.store import RunStore, pid_alive
from core.seismic.pick_job import PROBABILITIES
from tests.conftest import wait_until
from tests.core.seismic.picking_helpers import save_tiny_run

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"


def open_predict(run_id: str, job_id: str | None = None) -> AppTest:
    at = AppTest.from_file(str(APP), default_timeout=120).run()
    at.query_params["run"] = run_id
    if job_id:
        at.query_params["job"] = job_id
    at.switch_page("../pages/predict.py").run()
    assert not at.exception, at.exception
    return at


def test_a_long_record_is_picked_by_a_worker_and_found_again(runs_root, monkeypatch):
    monkeypatch.setenv("TFLAB_GPUS", "none")
    scheduler._SLOTS_CACHE.clear()
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run({"dataset": "synthetic", "model": "phasenet", "epochs": 1})
    store.set_status(run_id, "succeeded")
    save_tiny_run(runs_root, run_id, window=400)
    at = open_predict(run_id)
    at.number_input(key="pk-minutes").set_value(11).run()
    assert any("picked by a background job" in c.value for c in at.caption)
    at.button(key="pk-run").click().run()
    assert not at.exception, at.exception
    job_id = at.query_params["job"]
    job = store.get_job(job_id)
    try:
        assert job.kind == "pick" and job.params["run_id"] == run_id
        assert job.params["source"] == {"synthetic": {"minutes": 11, "seed": 0}}
        # started at once (the slot was free) in a worker process of its own, not in this one
        assert job.pid and job.pid != os.getpid()
        assert any(job_id in a for a in Path(f"/proc/{job.pid}/cmdline").read_text().split("\0"))
        assert len(at.get("plotly_chart")) == 0  # the page picked nothing itself
        done = wait_until(
            lambda: store.job_outcome(job_id)["status"] not in ("queued", "running"), timeout=240
        )
        assert done
        outcome = store.job_outcome(job_id)
        assert outcome["status"] == "succeeded", outcome["error"]
        assert outcome["progress"] == 1.0 and outcome["result"]["windows"] > 100
        assert (runs_root / "jobs" / job_id / PROBABILITIES).is_file()

        fresh = open_predict(run_id, job_id)  # a refresh or a shared link
        assert any(job_id in m.value for m in fresh.markdown)
        assert len(fresh.get("plotly_chart")) == 1
        assert len(fresh.get("download_button")) == 2
        assert any("windows in" in m.value for m in fresh.markdown)
    finally:
        pid = store.get_job(job_id).pid
        if pid and pid_alive(pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
        scheduler._SLOTS_CACHE.clear()


def test_an_unknown_job_in_the_url(runs_root):
    store = RunStore(runs_root / "runs.sqlite")
    run_id = store.create_run({"dataset": "synthetic", "model": "phasenet", "epochs": 1})
    store.set_status(run_id, "succeeded")
    save_tiny_run(runs_root, run_id, window=400)
    at = open_predict(run_id, "pick-nope")
    assert [w.value for w in at.warning] == ["There is no picking job 'pick-nope' of this run."]
    at.button(key="pk-new-job").click().run()
    assert "job" not in at.query_params
    assert any(b.key == "pk-run" for b in at.button)
